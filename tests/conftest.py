"""Suite-wide test settings: deterministic seeds and a small thread count for the 2-core CI box."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_everything() -> None:
    """Seed every generator before each test so that results never depend on test order."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
