"""Structured schemes: orthogonal, identity, Dirac, sparse and ZerO weights.

Their entries are not i.i.d. draws of one law, so each states in ``moments(shape)`` the mean
and second moment of its entries over the whole weight, exactly, from its structure (an
orthonormal matrix's squared entries sum to its rank; a Dirac kernel holds a known number of
ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from initlab._validate import check_int, check_real
from initlab.initializers.schemes import (
    Check,
    _check_positive,
    _check_rank,
    _check_shape,
    _Scheme,
)
from initlab.rng import RandomSource, standard_normal

__all__ = ["Dirac", "Identity", "Orthogonal", "Sparse", "ZerO"]


@dataclass(frozen=True)
class Orthogonal(_Scheme):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe, McClelland & Ganguli, ICLR 2014).

    The algorithm of ``torch.nn.init.orthogonal_`` and Keras ``Orthogonal``: flatten the
    shape to ``rows = shape[0]`` × ``cols = prod(shape[1:])``, take the QR decomposition of an
    N(0, 1) matrix in the tall orientation (max × min), multiply Q's columns by the signs of
    diag(R) (so Q is Haar-distributed), and transpose back when rows < cols. The result has
    orthonormal rows (W Wᵀ = gain²·I) when rows ≤ cols, orthonormal columns otherwise.
    """

    name: ClassVar[str] = "orthogonal"
    checks: ClassVar[dict[str, Check]] = {"gain": _check_positive}
    gain: float = 1.0

    def _sample(self, rng: RandomSource, shape: tuple[int, ...]) -> NDArray[np.float64]:
        shape = self._check(shape)
        if math.prod(shape) == 0:
            return np.zeros(shape)
        rows, cols = shape[0], math.prod(shape[1:])
        q, r = np.linalg.qr(standard_normal(rng, (max(rows, cols), min(rows, cols))))
        q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape)

    def moments(self, shape: tuple[int, ...]) -> tuple[float, float]:
        """Zero mean; E[w²] = gain² / max(rows, cols).

        gain × orthonormal rows (rows ≤ cols) or columns: Σ w² = gain²·min(rows, cols).

        >>> Orthogonal().moments((20, 10))
        (0.0, 0.05)
        """
        shape = self._check(shape)
        rows, cols = shape[0], math.prod(shape[1:])
        return 0.0, self.gain**2 / max(rows, cols)

    def _check(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = _check_shape(shape)
        if len(shape) < 2:
            raise ValueError(
                "Initializer 'orthogonal' needs a weight shape of rank ≥ 2. "
                f"Received: shape={shape!r}"
            )
        return shape


@dataclass(frozen=True)
class Identity(_Scheme):
    """``gain`` on the diagonal, 0 elsewhere: W = gain·I (any 2-D shape; ``eye_``, Keras
    ``Identity``). Draws nothing from ``rng``; identity RNNs (Le, Jaitly & Hinton 2015)."""

    name: ClassVar[str] = "identity"
    checks: ClassVar[dict[str, Check]] = {"gain": _check_positive}
    gain: float = 1.0

    def _sample(self, rng: RandomSource, shape: tuple[int, ...]) -> NDArray[np.float64]:
        rows, cols = _check_rank(self.name, shape, (2,))
        return self.gain * np.eye(rows, cols)

    def moments(self, shape: tuple[int, ...]) -> tuple[float, float]:
        """min(rows, cols) entries are gain, the rest 0: E[w] = gain / max(rows, cols),
        E[w²] = gain²·min(rows, cols) / (rows·cols)."""
        rows, cols = _check_rank(self.name, shape, (2,))
        return self.gain / max(rows, cols), self.gain**2 * min(rows, cols) / (rows * cols)


@dataclass(frozen=True)
class Dirac(_Scheme):
    """``torch.nn.init.dirac_``: a conv kernel that passes its input through unchanged.

    For a (out, in, *kernel) weight of rank 3, 4 or 5 split into ``groups`` along ``out``,
    W[g·(out/groups) + d, d, centre] = 1 for d < min(out/groups, in), else 0, so the first
    channels of every group copy the input (Zagoruyko & Komodakis, "DiracNets", 2017).
    """

    name: ClassVar[str] = "dirac"
    checks: ClassVar[dict[str, Check]] = {"groups": partial(check_int, minimum=1)}
    groups: int = 1

    def _sample(self, rng: RandomSource, shape: tuple[int, ...]) -> NDArray[np.float64]:
        shape = self._check(shape)
        w = np.zeros(shape)
        per_group = shape[0] // self.groups
        centre = tuple(s // 2 for s in shape[2:])
        for g in range(self.groups):
            for d in range(min(per_group, shape[1])):
                w[(g * per_group + d, d, *centre)] = 1
        return w

    def moments(self, shape: tuple[int, ...]) -> tuple[float, float]:
        """Entries are 0 or 1, so E[w] = E[w²] = the fraction of ones,
        groups·min(out/groups, in) / size.

        >>> Dirac().moments((4, 4, 3))
        (0.08333333333333333, 0.08333333333333333)
        """
        shape = self._check(shape)
        fraction = self.groups * min(shape[0] // self.groups, shape[1]) / math.prod(shape)
        return fraction, fraction

    def _check(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = _check_rank(self.name, shape, (3, 4, 5))
        if shape[0] % self.groups:
            raise ValueError(
                f"Initializer 'dirac': the output channels shape[0]={shape[0]} must be "
                f"divisible by groups={self.groups}. Received: shape={shape!r}"
            )
        return shape


@dataclass(frozen=True)
class Sparse(_Scheme):
    """``torch.nn.init.sparse_``: N(0, std²) with ⌈sparsity·rows⌉ zeros in every column.

    The zeros' rows are chosen at random, independently for each column (Martens, "Deep
    learning via Hessian-free optimization", ICML 2010). 2-D weights only.
    """

    name: ClassVar[str] = "sparse"
    checks: ClassVar[dict[str, Check]] = {
        "sparsity": partial(
            check_real, low=0.0, high=1.0, high_open=True, must="a float in [0, 1)"
        ),
        "std": _check_positive,
    }
    sparsity: float
    std: float = 0.01

    def _sample(self, rng: RandomSource, shape: tuple[int, ...]) -> NDArray[np.float64]:
        rows, cols = _check_rank(self.name, shape, (2,))
        w = standard_normal(rng, (rows, cols)) * self.std
        n_zeros = math.ceil(self.sparsity * rows)
        if n_zeros and cols:
            # A random permutation of the rows of each column: argsort of uniform keys.
            order = np.argsort(np.asarray(rng.uniform(0.0, 1.0, size=(rows, cols))), axis=0)
            np.put_along_axis(w, order[:n_zeros], 0.0, axis=0)
        return w

    def moments(self, shape: tuple[int, ...]) -> tuple[float, float]:
        """Zero mean; E[w²] = std² × the fraction of rows not zeroed, 1 − ⌈sparsity·rows⌉/rows."""
        rows, _ = _check_rank(self.name, shape, (2,))
        return 0.0, self.std**2 * (rows - math.ceil(self.sparsity * rows)) / rows


@dataclass(frozen=True)
class ZerO(_Scheme):
    """ZerO: deterministic zeros-and-ones initialization (Zhao, Schäfer & Anandkumar, 2022).

    Algorithm 1 of "ZerO Initialization: Initializing Neural Networks with only Zeros and
    Ones" (TMLR 2022), for W of shape (P, Q) = (fan_out, fan_in):

    - P = Q: W = I;
    - P < Q: W = I* (partial identity: propagate the first P inputs);
    - P > Q: W = c·I*·H_m·I* = c·H_m[:P, :Q], with H_m the 2^m × 2^m Sylvester Hadamard
      matrix (H_0 = 1, H_m = [[H, H], [H, −H]]), m = ⌈log₂ P⌉ and c = 2^{−(m−1)/2}.

    c follows the paper; the authors' code normalises by 2^{−m/2} instead. 2-D weights only;
    draws nothing from ``rng``.
    """

    name: ClassVar[str] = "zero_init"

    def _sample(self, rng: RandomSource, shape: tuple[int, ...]) -> NDArray[np.float64]:
        P, Q = _check_rank(self.name, shape, (2,))
        if P <= Q:
            return np.eye(P, Q)
        return _hadamard_scale(P) * _hadamard_signs(P, Q).astype(np.float64)

    def moments(self, shape: tuple[int, ...]) -> tuple[float, float]:
        """Exact, from the structure: I* holds min(P, Q) ones; c·H_m[:P, :Q] holds ±c only,
        so E[w²] = c² and E[w] = c × the mean of its signs.

        >>> ZerO().moments((4, 8))
        (0.125, 0.125)
        """
        P, Q = _check_rank(self.name, shape, (2,))
        if P <= Q:
            fraction = P / (P * Q)
            return fraction, fraction
        c = _hadamard_scale(P)
        return c * int(_hadamard_signs(P, Q).sum()) / (P * Q), c * c


def _hadamard_scale(P: int) -> float:
    """ZerO's c = 2^{−(m−1)/2}, m = ⌈log₂ P⌉."""
    m = (P - 1).bit_length()  # ⌈log₂ P⌉
    return float(2.0 ** (-(m - 1) / 2))


def _hadamard_signs(P: int, Q: int) -> NDArray[np.int64]:
    """Sylvester's H_m[:P, :Q]: H_m[i, j] = (−1)^popcount(i & j), computed only for the rows
    and columns kept, without building the 2^m × 2^m matrix."""
    bits = np.bitwise_and.outer(np.arange(P), np.arange(Q))
    parity = np.zeros((P, Q), dtype=np.int64)
    while bits.any():
        parity ^= bits & 1
        bits >>= 1
    signs: NDArray[np.int64] = 1 - 2 * parity
    return signs
