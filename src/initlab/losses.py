"""Binary cross-entropy, computed stably from logits.

With p = σ(z), the per-example loss −y·log p − (1−y)·log(1−p) equals
softplus(z) − y·z = log(1 + e^z) − y·z, which is finite for every finite z. The course
computes it from p instead, so a saturated sigmoid (p rounded to exactly 0 or 1) gives
``log(0) = −inf`` and its reported cost is ``inf``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def bce_logits(logits: Array, Y: Array) -> float:
    """Mean of softplus(z) − y·z over all examples."""
    return float(np.mean(np.logaddexp(0.0, logits) - Y * logits))


def bce_logits_grad(P: Array, Y: Array, m: int) -> Array:
    """d(mean loss)/dz = (σ(z) − y) / m, written ``1/m * (p − y)`` as the course writes it."""
    return 1.0 / m * (P - Y)


def naive_bce_is_infinite(P: Array, Y: Array) -> NDArray[np.bool_]:
    """Examples whose loss computed from probabilities would be ``inf``: p rounded to the
    wrong end (p == 0 with y = 1, or p == 1 with y = 0)."""
    infinite: NDArray[np.bool_] = ((P == 0.0) & (Y == 1)) | ((P == 1.0) & (Y == 0))
    return infinite
