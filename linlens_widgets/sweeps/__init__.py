"""Sweeps: many runs over a grid of parameters, on a Dask cluster, compared as one table.

``ll.sweep(make_model, data, grid, out=...)`` trains, analyses and saves one run per grid point
(:mod:`.execute`, each point a task of :mod:`.task`, named by :mod:`.grid`); ``ll.Sweep.load(out)``
reopens the table and the runs (:mod:`.record`).
"""

from __future__ import annotations

from linlens_widgets.sweeps.execute import sweep
from linlens_widgets.sweeps.record import Sweep, SweepPoint

__all__ = ["Sweep", "SweepPoint", "sweep"]
