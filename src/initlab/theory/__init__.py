"""Mean-field signal propagation: what an initialization does to a deep network, predicted.

At initialization, a layer's weights are drawn i.i.d. with zero mean and second moment
E[W²] = σ_w² / fan_in, its biases with variance σ_b² (neural-tangents' vocabulary). In a wide
network each pre-activation of layer l is then, over the random weights, a Gaussian
N(0, q^l) whose variance (second moment) obeys the *variance map*::

    q¹  = σ_w²·q⁰ + σ_b²,                        q⁰ = mean over examples of ‖x‖² / n_features
    q^l = σ_w²·E_z[φ(√q^{l−1}·z)²] + σ_b²,       z ~ N(0, 1)

(Poole et al. 2016, eq. 3). Iterated, the map settles at a fixed point q*. The squared size of
a small perturbation of the input, and of a gradient on the way back, is multiplied at every
layer by

    χ₁ = σ_w²·E_z[φ′(√q*·z)²]

(Schoenholz et al. 2017, eq. 5). χ₁ < 1 is the *ordered* phase: signals and gradients vanish
exponentially with depth. χ₁ > 1 is the *chaotic* phase: they explode. χ₁ = 1 is *critical*,
the edge of chaos, where information travels deepest. He et al.'s σ_w² = 2 for ReLU is the
special case E[relu(√q z)²] = q/2: the map is q ↦ q, and χ₁ = 1 exactly.

Expectations over z ~ N(0, 1) are exact for ReLU, leaky ReLU and linear (closed forms) and
computed by Gaussian quadrature for the others: see :func:`gaussian_expectation`.

:func:`sigma_w2_of` reads σ_w² off an initializer, and :func:`predict` runs the theory on an
:class:`~initlab.network.MLP`: the per-layer numbers a measured forward pass should show.

The package, every public name importable from here:

- :mod:`~initlab.theory.gaussian`: Gaussian expectations, activation moments, the variance map;
- :mod:`~initlab.theory.depth`: propagation through depth, the fixed point, χ₁, the phase and
  the critical σ_w²;
- :mod:`~initlab.theory.prediction`: σ_w² of an initializer, and :func:`predict` for a network.

References
----------
Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli, "Exponential expressivity in deep neural
networks through transient chaos", NeurIPS 2016.
Schoenholz, Gilmer, Ganguli & Sohl-Dickstein, "Deep Information Propagation", ICLR 2017.
He, Zhang, Ren & Sun, "Delving Deep into Rectifiers", ICCV 2015.
Novak et al., "Neural Tangents: Fast and Easy Infinite Neural Networks in Python", ICLR 2020
(the σ_w², σ_b² notation).
"""

# Each module lists its public names in its ``__all__``; the package re-exports them all.
# ruff: noqa: F403
from initlab.theory import depth, gaussian, prediction
from initlab.theory.depth import *
from initlab.theory.gaussian import *
from initlab.theory.prediction import *
from initlab.theory.prediction import _entry_moments as _entry_moments  # for the tests

__all__ = [*gaussian.__all__, *depth.__all__, *prediction.__all__]
