"""Choose selection regions on screen that a drag cannot get wrong.

A region (a polygon in CSS pixels relative to the canvas) is usable when it holds several points
and no point lies within ``margin`` pixels of its outline, so a pixel of rounding in the drag or
in the projection never moves a point in or out: the expected selection is unambiguous.
"""

from __future__ import annotations

import numpy as np

Polygon = np.ndarray  # (K, 2) vertices in order, CSS px relative to the canvas


def rectangle(left: float, top: float, width: float, height: float) -> Polygon:
    """The four corners of an axis-aligned rectangle, clockwise from top-left."""
    return np.array(
        [[left, top], [left + width, top], [left + width, top + height], [left, top + height]],
        dtype=float,
    )


def octagon(cx: float, cy: float, radius: float) -> Polygon:
    """A regular octagon (a freeform-lasso shape that is not a rectangle)."""
    angles = np.arange(8) * np.pi / 4 + np.pi / 8
    return np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], axis=1)


def inside(points: np.ndarray, polygon: Polygon) -> np.ndarray:
    """Boolean (N,): whether each point is inside the polygon (even-odd rule)."""
    x, y = points[:, 0:1], points[:, 1:2]
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return (crosses & (x < x_cross)).sum(axis=1) % 2 == 1


def outline_distance(points: np.ndarray, polygon: Polygon) -> np.ndarray:
    """(N,): each point's distance to the polygon's outline, in pixels."""
    a = polygon[None, :, :]
    b = np.roll(polygon, -1, axis=0)[None, :, :]
    p = points[:, None, :]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / (ab * ab).sum(-1), 0.0, 1.0)
    closest = a + t[..., None] * ab
    return np.linalg.norm(p - closest, axis=-1).min(axis=1)


def _centred_candidates(
    points: np.ndarray, shape: str, margin: float, min_points: int, max_points: int
) -> list[Polygon]:
    """Regions centred on groups of drawn points with an empty ring around them.

    For each point, its nearest neighbours in order of distance: where the distance jumps by
    enough (between the k-th and the (k+1)-th, for k in ``min_points..max_points``), a shape
    around the first k with its outline in the gap is a region no pixel of rounding can change,
    whatever the layout's density or shape.
    """
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    order = np.argsort(d, axis=1)
    # inner circle of the shape's outline relative to its circumradius
    inscribed = np.cos(np.pi / 8) if shape == "octagon" else np.sqrt(0.5)
    out: list[Polygon] = []
    for p in np.argsort(-np.sort(d, axis=1)[:, min(min_points, len(points) - 1)]):
        ranked = d[p, order[p]]
        for k in range(min_points, min(max_points, len(points) - 1) + 1):
            members = points[order[p, :k]]
            centre = (members.min(0) + members.max(0)) / 2
            inner = np.linalg.norm(members - centre, axis=1).max()
            outer = ranked[k] - np.linalg.norm(centre - points[p])
            radius = (inner + margin) / inscribed
            if outer < radius + margin:
                continue
            if shape == "octagon":
                out.append(octagon(*centre, radius))
            else:
                side = 2 * radius * inscribed
                out.append(rectangle(centre[0] - side / 2, centre[1] - side / 2, side, side))
            break
    return out


def find_region(
    points: np.ndarray,
    size: tuple[float, float],
    *,
    shape: str = "rectangle",
    margin: float = 8.0,
    min_points: int = 3,
    max_points: int | None = None,
    seed: int = 0,
    tries: int = 4000,
) -> tuple[Polygon, np.ndarray]:
    """Find a region with ``min_points``..``max_points`` points and ``margin`` px free of points.

    Parameters
    ----------
    points : (N, 2) CSS-px positions relative to the canvas.
    size : (width, height) of the canvas; the region keeps ``margin`` px from its border.
    shape : "rectangle" (box select) or "octagon" (lasso).

    Returns
    -------
    (polygon, indices)
        The region's vertices and the sorted indices of the points inside it.

    Raises
    ------
    AssertionError
        If no such region exists among ``tries`` random candidates nor around any group of
        points (every group of ``min_points`` has a neighbour closer than ``2 * margin``).
    """
    width, height = size
    max_points = max_points if max_points is not None else max(min_points, len(points) // 4)

    def usable(polygon: Polygon) -> np.ndarray | None:
        inside_canvas = (polygon >= margin).all() and (polygon[:, 0] <= width - margin).all()
        if not inside_canvas or not (polygon[:, 1] <= height - margin).all():
            return None
        members = np.flatnonzero(inside(points, polygon))
        if not min_points <= len(members) <= max_points:
            return None
        return members if outline_distance(points, polygon).min() >= margin else None

    rng = np.random.default_rng(seed)
    for _ in range(tries):
        w = rng.uniform(0.08, 0.4) * width
        h = rng.uniform(0.08, 0.4) * height
        left = rng.uniform(margin, width - margin - w)
        top = rng.uniform(margin, height - margin - h)
        if shape == "octagon":
            polygon = octagon(left + w / 2, top + h / 2, min(w, h) / 2)
        else:
            polygon = rectangle(left, top, w, h)
        members = usable(polygon)
        if members is not None:
            return polygon, members
    # A dense layout: regions around groups of points with an empty ring, found from the points.
    centred = _centred_candidates(points, shape, margin, min_points, max_points)
    for k in rng.permutation(len(centred)):
        members = usable(centred[k])
        if members is not None:
            return centred[k], members
    raise AssertionError(
        f"no {shape} region with {min_points}..{max_points} points and a {margin}px empty margin "
        f"among {tries} random candidates nor around any group of points on a {width}x{height} "
        f"canvas with {len(points)} points"
    )
