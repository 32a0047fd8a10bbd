"""The interactive API documentation at ``/docs``, served whole by this server, and the
``/api/v1`` index that points to it.

Swagger UI's script, style sheet and icon come from the ``fastapi-offline`` package (a
maintained bundle of those files made for this), so the page works without Internet access.
It is started by a script of ours instead of FastAPI's inline one, so it keeps the web UI's
Content-Security-Policy: scripts and styles from this origin only.
"""

from __future__ import annotations

import importlib.resources
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

from .. import __version__
from ..ui.pages import SECURITY_HEADERS
from .routes import API_PREFIX

OPENAPI_URL = f"{API_PREFIX}/openapi.json"
ASSETS_URL = "/docs/assets"
ASSETS = {  # name -> media type; nothing else of the package is served
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>runtree API</title>
<link rel="icon" type="image/png" href="{ASSETS_URL}/favicon.png">
<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{OPENAPI_URL}"></div>
<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>
<script src="/static/js/api-docs.js"></script>
</body>
</html>
"""

docs = APIRouter(include_in_schema=False)


def _asset_directory() -> Any:
    return importlib.resources.files("fastapi_offline") / "static"


@docs.get("/docs", response_class=HTMLResponse)
def docs_page() -> HTMLResponse:
    """Swagger UI for ``/api/v1``: every operation, with an Authorize button for the key."""
    return HTMLResponse(_PAGE, headers=SECURITY_HEADERS)


@docs.get(ASSETS_URL + "/{name}")
def docs_asset(name: str) -> FileResponse:
    """One of Swagger UI's files (cached: they change only with the installed package)."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"no documentation asset {name!r}")
    path = _asset_directory() / name
    return FileResponse(
        str(path),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@docs.get(API_PREFIX)
@docs.get(API_PREFIX + "/")
def api_index() -> dict[str, Any]:
    """Where the API's description is: no key needed."""
    return {
        "name": "runtree",
        "version": __version__,
        "links": {
            "docs": "/docs",
            "openapi": OPENAPI_URL,
            "health": "/healthz",
            "ui": "/",
        },
    }
