"""One demo site per test module (loading the demo programme takes a few seconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interfaces.web.site import Site, demo_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo site, shared by a module's tests (each test adds what it needs)."""
    with demo_site(tmp_path_factory.mktemp("site")) as the_site:
        yield the_site
