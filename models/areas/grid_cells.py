"""A lattice of cells over the grids' extent, so that most points find their grid by arithmetic.

The rule stays the one in ``models.areas.locate``: a point belongs to the grid with the smallest
code among those whose closed polygon holds it (a point on a border included). The cells only
answer that rule faster:

* a cell that no grid boundary touches lies wholly inside or wholly outside each grid, so the
  grids holding its centre hold every point of it: its answer is stored (a grid, or none);
* a cell that a boundary touches (a border cell) keeps the grids that can hold any of its
  points, in code order, and a point there asks shapely (exact predicates) about those only.

"Touches" is decided on boxes enlarged by ``_MARGIN`` (about 0.1 mm), far more than the rounding
of the arithmetic that puts a point in its cell: a point near a cell's edge is never answered by
a cell that a boundary passes close to. Which grids hold a centre is found by a scan of each row
of centres (the ray-crossing rule, with exact comparisons of the row's latitude).
"""
from __future__ import annotations

from array import array

import numpy as np
import shapely

_MARGIN = 1e-9  # degrees; the rounding of a point's cell is ~1e-14
_CELLS_PER_GRID_SIDE = 8  # a typical grid spans about 8 × 8 cells
_MAX_CELLS = 4_000_000  # 16 MB of cells at most, whatever the extent
# shapely.intersects_xy without its per-call checks; the shapes are prepared once here.
_intersects_xy = shapely.lib.intersects_xy
_NONE = -1  # no grid holds any point of the cell; below that: -2 - the border cell's number


class GridCells:
    """Cells over ``extent`` for ``shapes`` (the grids by code; answers are their positions)."""

    def __init__(self, shapes: list, extent: tuple[float, float, float, float]) -> None:
        shapes = np.asarray(shapes, dtype=object)
        shapely.prepare(shapes)
        self.shapes = list(shapes)
        self.x0, self.y0, self.x1, self.y1 = extent
        self.cols, self.rows = _lattice_size(shapes, extent)
        self.dx = (self.x1 - self.x0) / self.cols
        self.dy = (self.y1 - self.y0) / self.rows
        self._count = len(shapes)
        a, b, owner = _segments(shapes)
        touched = self._touched(a, b, owner)
        holding = self._holding_centres(a, b, owner)
        del a, b, owner
        border = np.zeros(self.rows * self.cols, dtype=bool)
        border[touched // self._count] = True
        cells = np.full(self.rows * self.cols, _NONE, dtype=np.int32)
        self._answer_clear_cells(holding, border, cells)
        self._keep_candidates(touched, holding, border, cells)
        self.cells = array("i", cells.tobytes())
        self._frame = (self.x0, self.y0, self.x1, self.y1, self.dx, self.dy, self.cols, self.rows)

    # --- lookup ---------------------------------------------------------------------------------
    def grid_at(self, lon: float, lat: float) -> int | None:
        """Position (in code order) of the grid of the point, or None when no grid holds it."""
        x0, y0, x1, y1, dx, dy, cols, rows = self._frame
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            return None
        col = min(int((lon - x0) / dx), cols - 1)
        row = min(int((lat - y0) / dy), rows - 1)
        cell = self.cells[row * cols + col]
        if cell >= 0:
            return cell
        if cell == _NONE:
            return None
        border = -cell - 2
        shapes, candidates = self.shapes, self.candidates
        for k in range(self.starts[border], self.starts[border + 1]):
            if _intersects_xy(shapes[candidates[k]], lon, lat):
                return candidates[k]
        return None

    # --- building -------------------------------------------------------------------------------
    def _key(self, cell, position):
        return cell.astype(np.int64) * self._count + position

    def _touched(self, a, b, owner) -> np.ndarray:
        """Keys (cell, position) of the cells each grid's boundary touches (repeats possible).

        A segment is cut into pieces no longer than a cell each way; the enlarged bounding box of
        a piece contains it and meets at most 3 × 3 cells."""
        pieces = np.ceil(np.maximum(np.abs(b[:, 0] - a[:, 0]) / self.dx,
                                    np.abs(b[:, 1] - a[:, 1]) / self.dy))
        pieces = np.maximum(pieces, 1).astype(np.int64)
        segment = np.repeat(np.arange(len(a)), pieces)
        step = np.arange(len(segment)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        total = pieces[segment]
        start = a[segment] + (b[segment] - a[segment]) * (step / total)[:, None]
        end = a[segment] + (b[segment] - a[segment]) * ((step + 1) / total)[:, None]
        c0, c1 = _cell_range(start[:, 0], end[:, 0], self.x0, self.dx, self.cols)
        r0, r1 = _cell_range(start[:, 1], end[:, 1], self.y0, self.dy, self.rows)
        position = owner[segment]
        found = []
        for dc in range(3):
            for dr in range(3):
                ok = (c0 + dc <= c1) & (r0 + dr <= r1)
                found.append(self._key((r0[ok] + dr) * self.cols + c0[ok] + dc, position[ok]))
        return np.concatenate(found)

    def _holding_centres(self, a, b, owner) -> np.ndarray:
        """Keys (cell, position), sorted: the grids holding each cell's centre, for every cell a
        boundary does not pass through (others may appear too; they are candidates anyway).

        Along a row of centres, a grid's boundary crossings (half-open rule on the exact latitude
        of the row) pair up into the spans inside it."""
        centre_y = self.y0 + (np.arange(self.rows) + 0.5) * self.dy
        centre_x = self.x0 + (np.arange(self.cols) + 0.5) * self.dx
        low, high = np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 1], b[:, 1])
        first = np.searchsorted(centre_y, low, side="left")  # rows with low <= y < high
        crossings = np.searchsorted(centre_y, high, side="left") - first
        segment = np.repeat(np.arange(len(a)), crossings)
        row = first[segment] + np.arange(len(segment)) - np.repeat(np.cumsum(crossings) - crossings,
                                                                   crossings)
        sa, sb = a[segment], b[segment]
        x = sa[:, 0] + (centre_y[row] - sa[:, 1]) * (sb[:, 0] - sa[:, 0]) / (sb[:, 1] - sa[:, 1])
        position = owner[segment]
        order = np.lexsort((x, row, position))  # each (grid, row) has an even number of crossings
        x, row, position = x[order], row[order], position[order]
        col_first = np.searchsorted(centre_x, x[0::2], side="right")
        cols = np.maximum(np.searchsorted(centre_x, x[1::2], side="left") - col_first, 0)
        span = np.repeat(np.arange(len(cols)), cols)
        col = col_first[span] + np.arange(len(span)) - np.repeat(np.cumsum(cols) - cols, cols)
        return np.sort(self._key(row[0::2][span] * self.cols + col, position[0::2][span]))

    def _answer_clear_cells(self, holding, border, cells) -> None:
        cell, position = np.divmod(holding, self._count)
        first = np.ones(len(cell), dtype=bool)
        first[1:] = cell[1:] != cell[:-1]  # sorted: the first is the smallest code
        cell, position = cell[first], position[first]
        clear = ~border[cell]
        cells[cell[clear]] = position[clear]

    def _keep_candidates(self, touched, holding, border, cells) -> None:
        keys = np.concatenate([touched, holding[border[holding // self._count]]])
        keys = np.sort(keys)
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
        cell, position = np.divmod(keys, self._count)
        border_cells = np.flatnonzero(border)
        cells[border_cells] = -2 - np.arange(len(border_cells), dtype=np.int32)
        starts = np.append(np.searchsorted(cell, border_cells), len(keys))
        self.starts = array("i", starts.astype(np.int32).tobytes())
        self.candidates = array("i", position.astype(np.int32).tobytes())


def _segments(shapes):
    """Every boundary segment (outer rings and holes of every part): ends a, b and the grid."""
    parts, owner = shapely.get_parts(shapes, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]
    return coords[:-1][same], coords[1:][same], owner[ring_part[ring_of[:-1][same]]]


def _cell_range(u, v, origin, step, count):
    """First and last cell (clipped) met by [min(u, v), max(u, v)] enlarged by the margin."""
    first = np.floor((np.minimum(u, v) - _MARGIN - origin) / step).astype(np.int64)
    last = np.floor((np.maximum(u, v) + _MARGIN - origin) / step).astype(np.int64)
    return np.clip(first, 0, count - 1), np.clip(last, 0, count - 1)


def _lattice_size(shapes, extent) -> tuple[int, int]:
    """Columns and rows: cells about an eighth of a typical grid's side, at most _MAX_CELLS."""
    x0, y0, x1, y1 = extent
    bounds = shapely.bounds(shapes)
    width = max(float(np.median(bounds[:, 2] - bounds[:, 0])), 1e-7)
    height = max(float(np.median(bounds[:, 3] - bounds[:, 1])), 1e-7)
    cols = max(int(np.ceil((x1 - x0) / width * _CELLS_PER_GRID_SIDE)), 1)
    rows = max(int(np.ceil((y1 - y0) / height * _CELLS_PER_GRID_SIDE)), 1)
    shrink = max(1.0, (cols * rows / _MAX_CELLS) ** 0.5)
    return max(int(cols / shrink), 1), max(int(rows / shrink), 1)
