"""The lanes engine's generated code: the per-example pass of one network, as Python source.

:mod:`initlab.engine.lanes` trains a block of ``V`` models at once, one per SIMD lane; its
hot loop, one iteration's forward and backward pass over every example, is written here for
the network's layer sizes and activations, as scalar statements (one per weight and value)
inside loops over the ``V`` lanes, which LLVM turns into vector instructions. (Loops over the
units written in Numba would be fully unrolled by LLVM before its loop vectorizer runs, into
scalar code: Numba disables LLVM's SLP vectorizer, which would vectorize them afterwards.)
:func:`module_source` gives the whole generated module: that pass and the kernel's entry,
which runs the training loop of :mod:`initlab.engine.lanes_math` around it.

The statements are the per-model kernel's formulas, in its order (see
:mod:`initlab.engine.kernel`): ``z = ((w₀·a₀ + w₁·a₁) + …) + b``, ``a = φ(z)`` as
:func:`~initlab.engine.kernel_math._activate`, the head's ``a_L`` (the sigmoid's σ(z), or
the identity's ŷ = z, one unit or more), ``δ_L = 1/m·(a_L − y)``, ``δ_{l−1} = ((w₀·δ₀ +
w₁·δ₁) + …)·φ′`` as :func:`~initlab.engine.kernel_math._times_derivative`; each weight's
gradient row ``+= δ_i·a_j``, example after example.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

__all__ = ["module_source", "n_params", "ok_row", "pass_source"]


def ok_row(n_params: int) -> int:
    """The row of a block's state ``S`` holding each lane's "every logit (or residual)
    below the bound" flag, after the parameters and the gradient (see
    :mod:`initlab.engine.lanes_math`)."""
    return 2 * n_params


def n_params(sizes: Sequence[int]) -> int:
    """Parameters of a network with these layer sizes: Σ n_l·(n_{l−1} + 1)."""
    return sum(nout * (nin + 1) for nin, nout in itertools.pairwise(sizes))


# --- the generated pass ----------------------------------------------------------------------

_FORWARD = {
    "relu": "_select({z} <= zero, zero, {z})",
    "leaky_relu": "_select({z} > zero, {z}, slope * {z})",
    "elu": "_t({z} if {z} > zero else one * math.expm1({z}))",
    "selu": "_t(selu_scale * ({z} if {z} > zero else selu_alpha * math.expm1({z})))",
    "gelu": "_t({z} * {cdf})",
    "tanh": "_t(math.tanh({z}))",
    "sigmoid": "_t(one / (one + _exp(-{z})))",
    "linear": "{z}",
}
"""φ(z) as :func:`kernel_math._activate` computes it; ``_t`` rounds to the run's dtype where a
C-library function returned float64 (as storing into the kernel's float32 array does)."""

_GELU_CDF = "half * (one + math.erf({z} / sqrt2))"

_DERIVATIVE = {
    "relu": "{d} * _select({a} > zero, one, zero)",
    "leaky_relu": "{d} * _select({a} > zero, one, slope)",
    "elu": "{d} * _select({a} > zero, one, {a} + one)",
    "selu": "{d} * _select({a} > zero, selu_scale, {a} + selu_sa)",
    "gelu": "_t({d} * ({cdf} + {z} * _exp(-half * {z} * {z}) / sqrt2pi))",
    "tanh": "{d} * (one - {a} * {a})",
    "sigmoid": "{d} * ({a} * (one - {a}))",
    "linear": "{d} * one",
}
"""δ·φ′ as :func:`kernel_math._times_derivative`. Its tests on ``z > 0`` are made on
``a > 0`` here, the same test for these activations (φ(z) > 0 exactly when z > 0, NaN
failing both), so that ``z`` need not stay in a register."""

_SCALAR = frozenset({"elu", "selu", "gelu", "tanh"})
"""Activations calling the C library (no SIMD): computed in a loop of their own."""

_CONSTANTS = {
    "zero": "C_ZERO", "one": "C_ONE", "half": "C_HALF", "slope": "C_SLOPE",
    "selu_scale": "C_SELU_SCALE", "selu_alpha": "C_SELU_ALPHA", "selu_sa": "C_SELU_SA",
    "sqrt2": "C_SQRT2", "sqrt2pi": "C_SQRT2PI",
}  # fmt: skip
"""The generated pass's local names for the constants ``c[kernel_math.C_…]``."""


class _Segments:
    """Statements in loops over the lanes ("segments"), and the values crossing them.

    A segment is one ``for v in range(V)`` loop; a vector segment compiles to SIMD code, a
    scalar one (an activation calling the C library) to ``V`` calls per value. A value
    defined in one segment and used in a later one goes through a scratch row of ``S``; a
    parameter or an input is read from its row once per segment that uses it (``p17``,
    ``x0_1``), which keeps the source short (Numba's compile time grows with the statements).
    """

    def __init__(self, lanes: int, first_scratch: int) -> None:
        self.lanes = lanes
        self.statements: list[list[str]] = [[]]
        self.reads: list[list[tuple[int, str]]] = [[]]
        self.loads: list[list[str]] = [[]]
        self.home: dict[str, int] = {}
        self.scratch: dict[str, int] = {}
        self.rows = first_scratch

    def row(self, r: int) -> str:
        """Row ``r`` of ``S``, in lane ``v``."""
        return f"S[{r * self.lanes} + v]"

    def read(self, r: int, name: str) -> str:
        """The value in row ``r`` of ``S`` (a parameter, an input), read into ``name`` once
        in the current segment."""
        if (r, name) not in self.reads[-1]:
            self.reads[-1].append((r, name))
        return name

    def param(self, q: int) -> str:
        """Parameter ``q``, in lane ``v``."""
        return self.read(q, f"p{q}")

    def new_segment(self) -> None:
        for per_segment in (self.statements, self.reads, self.loads):
            per_segment.append([])

    def emit(self, line: str, uses: Sequence[str], target: str | None = None) -> None:
        """Add ``line``, which reads the values ``uses`` (and defines ``target``)."""
        here = len(self.statements) - 1
        for name in uses:
            if self.home.get(name, here) != here:  # unknown names: defined before the loops
                if name not in self.scratch:
                    self.scratch[name] = self.rows
                    self.rows += 1
                if name not in self.loads[here]:
                    self.loads[here].append(name)
        if target is not None:
            self.home[target] = here
        self.statements[here].append(line)

    def let(self, target: str, expression: str, uses: Sequence[str]) -> None:
        self.emit(f"{target} = {expression}", uses, target)

    def loops(self, indent: str) -> list[str]:
        """The segments as lane loops: reads of parameters and crossing values, the
        statements, writes of the values later segments read."""
        out = []
        for here, statements in enumerate(self.statements):
            body = [f"{name} = {self.row(r)}" for r, name in self.reads[here]]
            body += [f"{name} = {self.row(self.scratch[name])}" for name in self.loads[here]]
            body += statements
            body += [
                f"{self.row(row)} = {name}"
                for name, row in self.scratch.items()
                if self.home[name] == here
            ]
            if statements:
                out.append(f"{indent}for v in range({self.lanes}):")
                out += [f"{indent}    {line}" for line in body]
        return out


HEADS = ("sigmoid", "identity")
"""The heads the generated pass has: the sigmoid (one unit) and the identity (any number)."""


class _PassWriter:
    """Writes the per-example pass of one network (see :func:`pass_source`)."""

    def __init__(
        self, sizes: Sequence[int], activations: Sequence[str], lanes: int, examples: int,
        head: str = "sigmoid",
    ) -> None:  # fmt: skip
        if head not in HEADS or (head == "sigmoid" and sizes[-1] != 1):
            raise ValueError(
                f"The generated pass has the heads {list(HEADS)} (the sigmoid with one output "
                f"unit). Received: head={head!r}, {sizes[-1]} output units"
            )
        self.sizes, self.activations, self.head = list(sizes), list(activations), head
        self.K = sizes[-1]
        self.L = len(sizes) - 1
        self.P = n_params(sizes)
        self.offsets = [n_params(sizes[: layer + 1]) for layer in range(self.L)]
        self.ok = ok_row(self.P)
        self.E = range(examples)
        self.per_example = sizes[0] + self.K + 1  # x, y (one per output unit), w
        self.logits = self.ok + 1 + examples * self.per_example  # E·K rows: this trip's
        self.code = _Segments(lanes, self.logits + examples * self.K)

    def input(self, e: int, j: int) -> str:
        """Example ``e``'s feature ``j`` (``j = n₀ + i``: its target ``y`` of output unit
        ``i``; ``n₀ + K``: its weight ``w``), read from the rows each trip's inputs are
        copied to."""
        n0, K = self.sizes[0], self.K
        if j < n0:
            name = f"x{j}_{e}"
        elif j < n0 + K:
            name = f"y{e}" if K == 1 else f"y{j - n0}_{e}"
        else:
            name = f"w{e}"
        return self.code.read(self.ok + 1 + e * self.per_example + j, name)

    def values(self, kind: str, layer: int) -> list[list[str]]:
        """The names of one layer's ``z``, ``a`` (the inputs ``x`` below the first layer),
        ``d`` or ``cdf`` values, per example."""
        if kind == "a" and layer < 0:
            return [[self.input(e, j) for j in range(self.sizes[0])] for e in self.E]
        units = self.sizes[layer + 1]
        return [[f"{kind}{layer}_{i}_{e}" for i in range(units)] for e in self.E]

    def forward(self, layer: int) -> None:
        """``z = ((w₀·a₀ + w₁·a₁) + …) + b``, then ``a = φ(z)`` (in the head: the sigmoid,
        and ``ok`` cleared where ``|z|`` reaches the bound; or the identity, ``a = z``, and
        ``ok`` cleared where the residual ``|z − y|`` reaches it)."""
        code, W = self.code, self.code.param
        nin, nout, w = self.sizes[layer], self.sizes[layer + 1], self.offsets[layer]
        name = self.activations[layer] if layer < self.L - 1 else "head"
        below, Z, A = self.values("a", layer - 1), self.values("z", layer), self.values("a", layer)
        for e in self.E:
            for i in range(nout):
                terms = " + ".join(f"{W(w + i * nin + j)} * {below[e][j]}" for j in range(nin))
                code.let(Z[e][i], f"({terms}) + {W(w + nout * nin + i)}", below[e])
        if name in _SCALAR:
            code.new_segment()
        if name == "head":
            code.let("ok", code.row(self.ok), [])
        cdf = self.values("cdf", layer)
        K = self.K
        for e in self.E:
            for i, (z, a) in enumerate(zip(Z[e], A[e])):
                if name == "head":  # the logit, for the cost (lanes_math._lane_loss)
                    code.emit(f"{code.row(self.logits + e * K + i)} = {z}", [z])
                if name == "head" and self.head == "identity":
                    y = self.input(e, self.sizes[0] + i)
                    code.let(a, z, [z])
                    code.let("ok", f"_select(abs({z} - {y}) < bound, ok, zero)", ["ok", z])
                elif name == "head":
                    code.let(a, _FORWARD["sigmoid"].format(z=z), [z])
                    code.let("ok", f"_select(abs({z}) < bound, ok, zero)", ["ok", z])
                elif name == "gelu":
                    code.let(cdf[e][i], _GELU_CDF.format(z=z), [z])
                    code.let(a, _FORWARD[name].format(z=z, cdf=cdf[e][i]), [z, cdf[e][i]])
                else:
                    code.let(a, _FORWARD[name].format(z=z), [z])
        if name == "head":
            code.emit(f"{code.row(self.ok)} = ok", ["ok"])
        if name in _SCALAR:
            code.new_segment()

    def backward(self, layer: int) -> None:
        """Each weight's gradient row ``+= δ_i·a_j`` (the examples in order), each bias's
        ``+= δ_i``; then, below the first layer, ``δ_j = ((w₀ⱼ·δ₀ + w₁ⱼ·δ₁) + …)·φ′``."""
        code, W, S = self.code, self.code.param, self.code.row
        nin, nout, w = self.sizes[layer], self.sizes[layer + 1], self.offsets[layer]
        D, below = self.values("d", layer), self.values("a", layer - 1)
        g = self.P + w
        for i in range(nout):
            for j in range(nin):
                terms = "".join(f" + {D[e][i]} * {below[e][j]}" for e in self.E)
                uses = [v for e in self.E for v in (D[e][i], below[e][j])]
                code.emit(f"{S(g + i * nin + j)} = {S(g + i * nin + j)}{terms}", uses)
            terms = "".join(f" + {D[e][i]}" for e in self.E)
            uses = [D[e][i] for e in self.E]
            code.emit(f"{S(g + nout * nin + i)} = {S(g + nout * nin + i)}{terms}", uses)
        if layer == 0:
            return
        name = self.activations[layer - 1]
        lower, Z = self.values("d", layer - 1), self.values("z", layer - 1)
        cdf = self.values("cdf", layer - 1)
        for e in self.E:
            for j in range(nin):
                terms = " + ".join(f"{W(w + i * nin + j)} * {D[e][i]}" for i in range(nout))
                a, z, c = below[e][j], Z[e][j], cdf[e][j]
                expression = _DERIVATIVE[name].format(d=f"({terms})", a=a, z=z, cdf=c)
                code.let(lower[e][j], expression, D[e] + ([z, c] if name == "gelu" else [a]))

    def source(self) -> str:
        for layer in range(self.L):
            self.forward(layer)
        top, n0 = self.L - 1, self.sizes[0]
        for e, (d, a) in enumerate(zip(self.values("d", top), self.values("a", top))):
            w = self.input(e, n0 + self.K)
            for i in range(self.K):
                y = self.input(e, n0 + i)
                self.code.let(d[i], f"{w} * ({a[i]} - {y})", [a[i]])
        for layer in range(top, -1, -1):
            self.backward(layer)
        constants = ", ".join(f"c[{index}]" for index in _CONSTANTS.values())
        lines = [
            "@_jit(fastmath={'contract'})",
            "def _pass(S, XL, c, m, Lg):",
            '    """One iteration\'s forward and backward pass of every lane\'s examples, the',
            "    gradient summed into S's rows P to 2P, the logits into Lg; trip k's inputs",
            '    are row k of XL."""',
            "    _align_frame()  # vectors spilled to the stack on cache lines: see lanes_math",
            f"    {', '.join(_CONSTANTS)} = {constants}",
            "    bound = m[M_BOUND]",
            "    width = XL.shape[1]  # not a constant: a copy loop LLVM vectorizes",
            "    for k in range(XL.shape[0]):",
            "        for q in range(width):",
            f"            S[{(self.ok + 1) * self.code.lanes} + q] = XL[k, q]",
        ]
        # This trip's logits out to Lg, in a loop of their own (a store to another array
        # inside the lane loops would keep LLVM from vectorizing them: it might alias S).
        V, size = self.code.lanes, len(self.E) * self.K * self.code.lanes
        copy = [
            f"        for q in range({size}):",
            f"            Lg[k * {size} + q] = S[{self.logits * V} + q]",
        ]
        return "\n".join(lines + self.code.loops("        ") + copy) + "\n"


def pass_source(
    sizes: Sequence[int], activations: Sequence[str], lanes: int, examples: int = 1,
    head: str = "sigmoid",
) -> tuple[str, int]:  # fmt: skip
    """The source of ``_pass(S, XL, c, m, Lg)``, the generated per-example pass of a network
    with layer sizes ``sizes``, hidden ``activations`` and a ``head`` of :data:`HEADS` (the
    sigmoid: one output unit; the identity: any number), for blocks of ``lanes`` lanes; and
    the rows of ``S`` it uses.

    For each example, in every lane: the forward pass (``z = ((w₀·a₀ + w₁·a₁) + …) + b``,
    ``a = φ(z)``), the cheap divergence check (``ok`` cleared where ``|z| ≥ m[M_BOUND]``;
    for the identity head, where ``|z − y| ≥ m[M_BOUND]``), the backward pass (``δ_L =
    1/m·(a_L − y)``, ``δ_{l−1} = ((w₀·δ₀ + w₁·δ₁) + …)·φ′``), and each weight's gradient
    row ``+= δ_i·w·(…)``: the per-model kernel's formulas, in its order, ``w`` being ``1/m``
    (``δ_L = w·(a_L − y)``); and each logit ``z`` of output unit ``i`` into ``Lg[(s·K + i)·V
    + v]``, ``s = k·E + e`` the slot (trip ``k``, example ``e`` of the trip), ``V`` the
    lanes, for the cost (``lanes_math._lane_loss``). Trip ``k`` first copies row ``k`` of
    ``XL`` (``examples`` examples' ``x``, ``y`` (one per output unit) and ``w``, lane by
    lane) into rows of ``S``. (Reading each example straight from ``X``, one number for all
    lanes, measured no faster and less steady: LLVM then keeps every parameter and gradient
    sum across trips, more than the registers hold, in stack slots whose addresses vary from
    process to process; the copy, which may write anywhere in ``S`` as far as LLVM knows,
    keeps them in ``S``.)
    ``examples`` > 1 passes that many examples per trip (each gradient row is then read and
    written once per trip); a lane with fewer examples than the trips hold gets one again
    with ``w = 0`` (δ = 0: exact zeros added to finite sums).

    >>> text, rows = pass_source([2, 3, 1], ["relu"], lanes=8)
    >>> "for v in range(8):" in text, rows
    (True, 32)
    """
    writer = _PassWriter(sizes, activations, lanes, examples, head)
    return writer.source(), writer.code.rows


_MODULE = '''"""Generated by initlab.engine.lanes: do not edit (a change writes a new file).

The per-example pass of the network {what}, {head} head, {lanes} models per block, {dtype}.
Engine sources: {stamp}
"""

import math

import numpy as np

from initlab.engine.kernel_math import {constants}
from initlab.engine.lanes_math import (
    M_BOUND,
    _after_pass,
    _align_frame,
    _exp,
    _finish,
    _jit,
    _next_iteration,
    _select,
)

_t = np.{dtype}


{pass_}

@_jit(entry=True)
def train_block(
    S, lr, X, Y, XL, sizes, acts, c, m, s, theta, costs, status, snaps, vel, sq, on, heads, l2,
    l1, work,
):
    while _next_iteration(S, lr, s, c, work):
        _pass(S, XL, c, m, work[4])
        _after_pass(
            S, lr, X, Y, sizes, acts, c, m, s, theta, costs, status, snaps, vel, sq, on, heads,
            l2, l1, work,
        )
    _finish(S, lr, theta, status, snaps, s, work)
'''


def module_source(
    sizes: Sequence[int], activations: Sequence[str], lanes: int, examples: int, dtype: str,
    stamp: str, head: str = "sigmoid",
) -> tuple[str, int]:  # fmt: skip
    """The generated module for a network and its head, lane count and dtype
    (``"float64"``), with ``stamp`` (a hash of the engine's sources) in its docstring; and
    the rows of ``S``."""
    source, rows = pass_source(sizes, activations, lanes, examples, head)
    hidden = ", ".join(activations) or "no hidden layer"
    text = _MODULE.format(
        what=f"{list(sizes)} ({hidden})", head=head, lanes=lanes, dtype=dtype, stamp=stamp,
        pass_=source, constants=", ".join(sorted(set(_CONSTANTS.values()))),
    )  # fmt: skip
    return text, rows
