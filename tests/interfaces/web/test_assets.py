"""The front-end packages: pinned exactly, and htmx with its SSE extension as one matched pair.

htmx-ext-sse declares the htmx.org versions it works with. If a future ``npm install`` resolved
another htmx.org for it, the pages would load one htmx and the extension would register with a
different one (or npm would nest a second copy): the live pages and the replay would stop
updating with no error on the server. These checks read the manifest and the lock file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXACT = re.compile(r"^\d+\.\d+\.\d+$")


def _json(path: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return found


def _version(text: str) -> tuple[int, int, int]:
    major, minor, patch = (int(part) for part in text.partition("-")[0].split("."))
    return major, minor, patch


def satisfies(version: str, wanted: str) -> bool:
    """Whether ``version`` is in an npm range of the forms npm writes: ``^x.y.z``, ``~x.y.z``,
    ``x.y.z`` or ``>=x.y.z``, joined by ``||``."""
    have = _version(version)
    for alternative in wanted.split("||"):
        spec = alternative.strip()
        if spec.startswith("^"):
            low = _version(spec[1:])
            if have >= low and have[0] == low[0] and (low[0] or have[1] == low[1]):
                return True
        elif spec.startswith("~"):
            low = _version(spec[1:])
            if have >= low and have[:2] == low[:2]:
                return True
        elif spec.startswith(">="):
            if have >= _version(spec[2:].strip()):
                return True
        elif EXACT.match(spec) and have == _version(spec):
            return True
    return False


@pytest.mark.parametrize(
    ("version", "wanted", "expected"),
    [
        ("2.0.11", "^2.0.2", True),
        ("2.0.1", "^2.0.2", False),
        ("3.0.0", "^2.0.2", False),
        ("2.1.0", "~2.0.2", False),
        ("2.0.11", "2.0.11", True),
        ("1.9.12", "^1.9.0 || ^2.0.0", True),
    ],
)
def test_the_range_check_reads_npm_ranges(version: str, wanted: str, expected: bool) -> None:
    assert satisfies(version, wanted) is expected


def test_every_front_end_package_is_pinned_to_one_version_in_the_manifest_and_lock() -> None:
    manifest = _json(ROOT / "package.json")
    lock = _json(ROOT / "package-lock.json")
    pinned = {**manifest["dependencies"], **manifest.get("devDependencies", {})}
    loose = {name: spec for name, spec in pinned.items() if not EXACT.match(spec)}
    assert not loose, f"not pinned to an exact version: {loose}"
    root = lock["packages"][""]
    assert root["dependencies"] == manifest["dependencies"], "package-lock.json is stale"
    for name, version in pinned.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name


def test_htmx_and_its_sse_extension_are_a_matched_pair_with_one_htmx() -> None:
    manifest = _json(ROOT / "package.json")["dependencies"]
    packages = _json(ROOT / "package-lock.json")["packages"]
    assert _version(manifest["htmx.org"])[0] == 2
    assert _version(manifest["htmx-ext-sse"])[0] == 2
    copies = [path for path in packages if path.endswith("node_modules/htmx.org")]
    assert copies == ["node_modules/htmx.org"], f"more than one htmx.org: {copies}"
    extension = packages["node_modules/htmx-ext-sse"]
    wanted = {**extension.get("peerDependencies", {}), **extension.get("dependencies", {})}
    assert "htmx.org" in wanted, "htmx-ext-sse no longer says which htmx it needs"
    htmx = packages["node_modules/htmx.org"]["version"]
    assert satisfies(htmx, wanted["htmx.org"]), f"htmx {htmx} is outside {wanted['htmx.org']}"


def test_the_installed_packages_are_the_locked_ones() -> None:
    """What the pages are served from (node_modules) is what the lock file pins (``npm ci``)."""
    packages = _json(ROOT / "package-lock.json")["packages"]
    for name in ("htmx.org", "htmx-ext-sse", "nhsuk-frontend"):
        installed = ROOT / "node_modules" / name / "package.json"
        assert installed.exists(), f"{name} is not installed: run `make install` (npm ci)"
        assert _json(installed)["version"] == packages[f"node_modules/{name}"]["version"], name
