"""The error raised for every run folder that cannot be loaded as it is."""

from __future__ import annotations


class RunFormatError(ValueError):
    """A run folder is damaged, incomplete, from a newer version, or not a run at all.

    The message names the file (and the field or tensor) at fault.
    """
