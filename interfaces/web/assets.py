"""The front-end packages npm installed, served from our own origin (the CSP allows no other)."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

log = logging.getLogger(__name__)

# URL prefix -> folder inside node_modules: only the built files each page needs.
PACKAGES = {
    "nhsuk": "nhsuk-frontend/dist/nhsuk",
    "images": "nhsuk-frontend/dist/nhsuk/assets/images",  # the NHS CSS asks for /assets/images
    "htmx": "htmx.org/dist",
    "htmx-ext-sse": "htmx-ext-sse/dist",
    "vega": "vega/build",
    "vega-lite": "vega-lite/build",
    "vega-embed": "vega-embed/build",
}
OWN = Path(__file__).parent / "static"


def mount_assets(app: FastAPI, node_modules: Path) -> None:
    """Serve /assets/<package>/ from node_modules and /assets/app/ from our static folder."""
    missing = [name for name, folder in PACKAGES.items() if not (node_modules / folder).is_dir()]
    if missing:
        log.warning(
            "front-end packages missing under %s (%s): run `make install`; pages will be unstyled",
            node_modules,
            ", ".join(missing),
        )
    app.mount("/assets/app", StaticFiles(directory=OWN), name="assets-app")
    for name, folder in PACKAGES.items():
        app.mount(
            f"/assets/{name}",
            StaticFiles(directory=node_modules / folder, check_dir=False),
            name=f"assets-{name}",
        )
