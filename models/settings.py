"""Reading a setting: the app's configuration inside an app context, the default outside one."""
from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context


def setting(name: str, default: Any = None) -> Any:
    """``current_app.config[name]`` when there is an app and the value is set (not None);
    ``default`` otherwise: in scripts, shells and tests without an app context."""
    if has_app_context():
        value = current_app.config.get(name)
        if value is not None:
            return value
    return default


def map_tiles() -> dict[str, str]:
    """The statistics map's tile layer (config MAP_TILE_*); an empty URL means no tiles."""
    return {"url": setting("MAP_TILE_URL", "") or "",
            "attribution": setting("MAP_TILE_ATTRIBUTION", "") or "",
            "subdomains": setting("MAP_TILE_SUBDOMAINS", "") or ""}
