"""A small offline map of a ticket's grid and point, drawn as inline SVG (no tile server needed)."""
from __future__ import annotations

from markupsafe import Markup, escape

from models import Ticket, db
from models.areas.hierarchy import Area

SIZE = 240


def ticket_map_svg(ticket: Ticket) -> Markup | None:
    grid = db.session.get(Area, ticket.grid_id) if ticket.grid_id else None
    rings = _rings(grid.boundary) if grid is not None and grid.boundary else []
    points = [pt for ring in rings for pt in ring]
    if ticket.lon is not None and ticket.lat is not None:
        points.append((ticket.lon, ticket.lat))
    if not points:
        return None
    min_x, max_x = min(p[0] for p in points), max(p[0] for p in points)
    min_y, max_y = min(p[1] for p in points), max(p[1] for p in points)
    span = max(max_x - min_x, max_y - min_y, 1e-4) * 1.15
    cx, cy = (min_x + max_x) / 2, (min_y + max_y) / 2

    def xy(lon, lat):
        return (SIZE / 2 + (lon - cx) / span * SIZE, SIZE / 2 - (lat - cy) / span * SIZE)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
             f'viewBox="0 0 {SIZE} {SIZE}" class="border rounded bg-light">']
    for ring in rings:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(*p) for p in ring))
        parts.append(f'<polygon points="{path}" fill="#cfe2ff" stroke="#0d6efd" stroke-width="1.5"/>')
    if grid is not None:
        parts.append(f'<text x="6" y="16" font-size="12" fill="#0a58ca">{escape(grid.name)}</text>')
    if ticket.lon is not None and ticket.lat is not None:
        x, y = xy(ticket.lon, ticket.lat)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#dc3545" stroke="#fff" '
                     'stroke-width="2"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _rings(geometry: dict) -> list[list[tuple[float, float]]]:
    if geometry.get("type") == "Polygon":
        return [[tuple(p) for p in geometry["coordinates"][0]]]
    if geometry.get("type") == "MultiPolygon":
        return [[tuple(p) for p in poly[0]] for poly in geometry["coordinates"]]
    return []
