"""Pixels as a user sees them: element screenshots decoded to arrays, background vs. drawn marks."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from playwright.sync_api import Locator

# Channel difference (0-255) above which a pixel counts as different (antialiasing stays below).
TOLERANCE = 24


def element_pixels(locator: Locator) -> np.ndarray:
    """Screenshot the element as the compositor shows it; returns (H, W, 3) uint8 RGB."""
    png = locator.screenshot(animations="disabled")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def background_color(image: np.ndarray) -> np.ndarray:
    """The most frequent colour of the image's border (where a scatter leaves its background)."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    colors, counts = np.unique(border.reshape(-1, 3), axis=0, return_counts=True)
    return colors[np.argmax(counts)]


def foreground_mask(image: np.ndarray, tolerance: int = TOLERANCE) -> np.ndarray:
    """Boolean (H, W): pixels that differ from the background colour by more than ``tolerance``."""
    diff = np.abs(image.astype(np.int16) - background_color(image).astype(np.int16))
    return diff.max(axis=-1) > tolerance


def changed_fraction(a: np.ndarray, b: np.ndarray, tolerance: int = TOLERANCE) -> float:
    """Fraction of pixels that differ between two same-sized screenshots."""
    if a.shape != b.shape:
        return 1.0
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1)
    return float((diff > tolerance).mean())
