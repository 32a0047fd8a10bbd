"""The web UI served by ``runtree serve``: server-rendered HTML shells and static ES modules
that read everything from the JSON API (``/api/v1``). An edge like the API: no rules of its
own, and no build step (the files under ``static/`` are what the browser runs)."""

from .pages import install_ui

__all__ = ["install_ui"]
