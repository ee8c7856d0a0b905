"""Point → grid through the cell index gives exactly the plain shapely answer (issue 14).

The rule (models/areas/locate.py): the grid with the smallest code among those whose closed
polygon holds the point; none, and the nearest community, when no grid holds it. Compared here on
random points and on points made to sit on borders, vertices and the index's own cell lines, over
grids of every awkward kind: a jittered lattice, a gap, a hole with an island grid inside, a grid
in two parts, an overlap, a star with long slanted edges and a many-sided circle.
"""
from __future__ import annotations

import math
import random

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from models import AreaLevel, db
from models.areas.hierarchy import set_boundary
from models.areas.locate import area_index, invalidate_area_index, locate

from .factories import World, add_area, square

LON, LAT, W, H = 120.0, 30.0, 0.004, 0.0035  # lattice origin and cell size (about 390 m)
COLS, ROWS = 6, 5


def ring_geojson(points) -> dict:
    points = [list(p) for p in points]
    return {"type": "Polygon", "coordinates": [points + [points[0]]]}


def lattice(rng: random.Random) -> dict[tuple[int, int], tuple[float, float]]:
    """Corners of a jittered lattice; the outer edge stays straight."""
    corners = {}
    for i in range(COLS + 1):
        for j in range(ROWS + 1):
            inner = 0 < i < COLS and 0 < j < ROWS
            jx, jy = (rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2)) if inner else (0, 0)
            corners[i, j] = (round(LON + (i + jx) * W, 6), round(LAT + (j + jy) * H, 6))
    return corners


def star(cx, cy, r_out, r_in, points=7):
    return [(cx + (r_out if k % 2 == 0 else r_in) * math.cos(math.pi * k / points),
             cy + (r_out if k % 2 == 0 else r_in) * math.sin(math.pi * k / points))
            for k in range(2 * points)]


@pytest.fixture()
def awkward_grids(ctx):
    invalidate_area_index()
    w = World()
    rng = random.Random(20261203)
    c = lattice(rng)
    big = square(LON - 0.01, LAT - 0.01, COLS * W + 0.03, ROWS * H + 0.03)
    district = add_area(w, "d", "G01", "测试区", AreaLevel.DISTRICT, None, big)
    street = add_area(w, "s", "G0101", "测试街道", AreaLevel.STREET, district, big)
    west = add_area(w, "c1", "G010101", "西社区", AreaLevel.COMMUNITY, street,
                    square(LON, LAT, 3 * W, ROWS * H))
    east = add_area(w, "c2", "G010102", "东社区", AreaLevel.COMMUNITY, street,
                    square(LON + 3 * W, LAT, 3 * W, ROWS * H))
    for i in range(COLS):
        for j in range(ROWS):
            if (i, j) in {(2, 2), (4, 1)}:
                continue  # (2, 2): a gap; (4, 1): the grid with a hole below
            corners = [c[i, j], c[i + 1, j], c[i + 1, j + 1], c[i, j + 1]]
            add_area(w, f"g{i}{j}", f"G0101{1 + i // 3:02d}{i}{j}", f"网格{i}{j}", AreaLevel.GRID,
                     west if i < 3 else east, ring_geojson(corners))
    outer = [c[4, 1], c[5, 1], c[5, 2], c[4, 2]]
    (x0, y0), (x1, y1) = c[4, 1], c[5, 2]
    hole = [(x0 + (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.3), (x0 + (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.7),
            (x0 + (x1 - x0) * 0.7, y0 + (y1 - y0) * 0.7), (x0 + (x1 - x0) * 0.7, y0 + (y1 - y0) * 0.3)]
    holed = ring_geojson(outer)
    holed["coordinates"].append([list(p) for p in hole + [hole[0]]])
    add_area(w, "holed", "G01010241", "有洞网格", AreaLevel.GRID, east, holed)
    add_area(w, "island", "G01010241A", "岛网格", AreaLevel.GRID, east, ring_geojson(hole))
    two_parts = {"type": "MultiPolygon", "coordinates": [
        ring_geojson([(LON + 6 * W, LAT), (LON + 7 * W, LAT), (LON + 7 * W, LAT + H),
                      (LON + 6 * W, LAT + H)])["coordinates"],
        ring_geojson([(LON + 6 * W, LAT + 3 * H), (LON + 7 * W, LAT + 3 * H),
                      (LON + 7 * W, LAT + 4 * H), (LON + 6 * W, LAT + 4 * H)])["coordinates"]]}
    add_area(w, "parts", "G01010299", "两块网格", AreaLevel.GRID, east, two_parts)
    # Overlaps: one code sorts before the lattice's, one after.
    add_area(w, "over_first", "G0101010", "叠前网格", AreaLevel.GRID, west,
             ring_geojson(star(LON + 1.5 * W, LAT + 3.5 * H, 1.2 * W, 0.5 * W)))
    add_area(w, "over_last", "G01010299Z", "叠后网格", AreaLevel.GRID, east,
             ring_geojson([(LON + 6 * W + 0.0015 * math.cos(a), LAT + 2 * H + 0.0013 * math.sin(a))
                           for a in np.linspace(0, 2 * math.pi, 64, endpoint=False)]))
    db.session.commit()
    return w


def plain_grid(lons, lats) -> list[int | None]:
    """The rule with nothing but shapely: every active grid, by code, asked about every point."""
    from models import Area

    grids = sorted((a for a in db.session.query(Area).filter_by(level=AreaLevel.GRID)
                    if a.active and a.boundary), key=lambda a: a.code)
    shapes = np.array([shape(a.boundary) for a in grids], dtype=object)
    holds = shapely.intersects(shapes[:, None], shapely.points(lons, lats)[None, :])
    first = holds.argmax(axis=0)
    return [grids[k].id if holds[k, n] else None for n, k in enumerate(first)]


def boundary_points(index) -> tuple[np.ndarray, np.ndarray]:
    """Vertices, points along edges, their float neighbours, and the cell lines of the index."""
    coords = shapely.get_coordinates(shapely.boundary(np.array(index.grid_shapes)))
    a, b = coords[:-1], coords[1:]
    along = [a + (b - a) * t for t in (0.5, 1 / 3, 1 / 7, 0.999)]
    pts = np.concatenate([coords, *along])
    nudged = [np.nextafter(pts, pts + d) for d in ([1, 0], [-1, 0], [0, 1], [0, -1], [1, 1])]
    cells = index.grid_cells
    rng = np.random.default_rng(5)
    col_x = cells.x0 + np.arange(cells.cols + 1) * cells.dx
    row_y = cells.y0 + np.arange(cells.rows + 1) * cells.dy
    on_cols = np.stack([rng.choice(col_x, 3000), rng.uniform(cells.y0, cells.y1, 3000)], axis=1)
    on_rows = np.stack([rng.uniform(cells.x0, cells.x1, 3000), rng.choice(row_y, 3000)], axis=1)
    corners = np.stack(np.meshgrid(col_x[::3], row_y[::3]), axis=-1).reshape(-1, 2)
    every = np.concatenate([pts, *nudged, on_cols, on_rows, corners])
    return every[:, 0], every[:, 1]


def fast_grid(lons, lats) -> list[int | None]:
    index = area_index()
    return [index.grid_at(float(x), float(y)) for x, y in zip(lons, lats)]


def test_random_points_get_the_plain_answer(awkward_grids):
    rng = np.random.default_rng(11)
    x0, y0, x1, y1 = area_index().grids_extent()
    lons = rng.uniform(x0 - 0.002, x1 + 0.002, 20000)
    lats = rng.uniform(y0 - 0.002, y1 + 0.002, 20000)
    assert fast_grid(lons, lats) == plain_grid(lons, lats)


def test_points_on_borders_and_cell_lines_get_the_plain_answer(awkward_grids):
    lons, lats = boundary_points(area_index())
    fast, plain = fast_grid(lons, lats), plain_grid(lons, lats)
    wrong = [(x, y, f, p) for x, y, f, p in zip(lons, lats, fast, plain) if f != p]
    assert not wrong, wrong[:5]
    # The test is only worth something if the awkward cases are really there.
    w = awkward_grids.areas
    assert {w[k].id for k in ("holed", "island", "parts", "over_first", "over_last")} <= set(plain)
    assert None in plain


def test_locate_places_and_flags_as_the_plain_rule(awkward_grids):
    rng = np.random.default_rng(3)
    x0, y0, x1, y1 = area_index().grids_extent()
    lons, lats = rng.uniform(x0, x1, 500).round(7), rng.uniform(y0, y1, 500).round(7)
    for lon, lat, grid in zip(lons, lats, plain_grid(lons, lats)):
        placement = locate(float(lon), float(lat))
        assert placement.flagged == (grid is None)
        if grid is not None:
            assert placement.area_id == grid


def test_the_cells_follow_a_changed_boundary_at_once(awkward_grids):
    w = awkward_grids.areas
    inside_gap = (LON + 2.5 * W, LAT + 2.5 * H)
    assert area_index().grid_at(*inside_gap) is None
    set_boundary(w["g00"], square(LON + 2 * W, LAT + 2 * H, W, H))  # now fills the gap
    db.session.commit()
    lons, lats = boundary_points(area_index())
    assert fast_grid(lons, lats) == plain_grid(lons, lats)
    assert locate(*inside_gap).area_id == w["g00"].id
    w["g00"].active = False
    db.session.commit()
    assert locate(*inside_gap).flagged
    assert fast_grid(lons, lats) == plain_grid(lons, lats)


def test_a_point_in_a_border_cell_asks_only_its_candidates(awkward_grids):
    """Most points are answered without shapely: the index is worth having."""
    cells = area_index().grid_cells
    border = sum(1 for v in cells.cells if v < -1)
    assert 0 < border < 0.6 * len(cells.cells)
    candidates = [cells.starts[k + 1] - cells.starts[k] for k in range(border)]
    assert min(candidates) >= 1 and sum(candidates) / border < 3
