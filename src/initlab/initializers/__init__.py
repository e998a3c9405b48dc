"""Weight initializers: fans, gains, one general ``variance_scaling`` and the named schemes.

The package, split as Keras splits its own; every public name is importable from here:

- :mod:`~initlab.initializers.schemes`: the protocols, fans, gains and the fan-scaled schemes;
- :mod:`~initlab.initializers.distributions`: normal, uniform, truncated normals, constants;
- :mod:`~initlab.initializers.structured`: orthogonal, identity, Dirac, sparse, ZerO;
- :mod:`~initlab.initializers.registry`: names and configs (:func:`get`, :func:`get_config`),
  custom initializers and plugins;
- :mod:`~initlab.initializers.lsuv`: LSUV, the data-dependent scheme;
- :mod:`~initlab.initializers.params`: :func:`init_params`, a whole network's parameters.

Layout, stated once
-------------------
A dense weight matrix has shape ``(fan_out, fan_in)``: one row per output unit, holding
that unit's incoming weights. This is PyTorch's ``nn.Linear.weight`` layout and the course's
``W[l]`` of shape ``(n[l], n[l-1])``; Keras and JAX store the transpose ``(fan_in, fan_out)``.
For higher-rank shapes ``(fan_out, fan_in, *receptive_field)`` both fans are multiplied by
the receptive-field size, as in PyTorch.

An initializer is a callable ``init(rng, shape, dtype=np.float64) -> ndarray``. Public
names are small factories that return one (``he_normal()``), so choosing a scheme and
sampling from it are separate steps, and every initializer serialises with
:func:`get_config`. Data-dependent schemes (LSUV, :mod:`initlab.initializers.lsuv`) instead
implement ``init_network(mlp, rng, X)``. Every data-independent scheme also states the mean and
second moment of its entries, ``moments(shape)`` (:class:`HasMoments`), which
:mod:`initlab.theory` uses to predict what the scheme does to a deep network.

Truncated or plain: Keras and PyTorch use the same names for different draws
-------------------------------------------------------------------------------
====================  =======================================  ===============================
initlab name          distribution                             follows
====================  =======================================  ===============================
``he_normal``         N(0, 1) cut at ±2, × σ/0.87962566…       Keras ``HeNormal`` (JAX, Flax)
``glorot_normal``     (truncated, variance exactly σ²)         Keras ``GlorotNormal``
``lecun_normal``                                               Keras ``LecunNormal``
``kaiming_normal``    plain N(0, σ²), σ = gain/√fan            ``torch.nn.init.kaiming_normal_``
``xavier_normal``     plain N(0, σ²), σ = gain·√(2/(in+out))   ``torch.nn.init.xavier_normal_``
``he``                plain N(0, 2/fan_in)                     the course's He
``truncated_normal``  N(mean, σ²) cut at mean ± 2σ, no         Keras ``TruncatedNormal``
                      correction: variance ≈ (0.88σ)²
``trunc_normal``      N(mean, σ²) cut at absolute [a, b]       ``torch.nn.init.trunc_normal_``
====================  =======================================  ===============================

The Keras truncated normals divide by 0.87962566103423978, the standard deviation of a
standard normal truncated to [−2, 2], so the weights' variance equals the formula exactly;
the PyTorch normals are not truncated at all. Both are kept, each under its own name.

Custom and third-party initializers
-----------------------------------
:func:`register_initializer` adds a function or a factory to the registry. Installed
packages can also declare initializers in the entry-point group ``initlab.initializers``;
they are loaded on the first lookup of an unknown name, or when the names are listed.
"""

# Each module lists its public names in its ``__all__``; the package re-exports them all.
# ruff: noqa: F403
from initlab.initializers import distributions, lsuv, params, registry, schemes, structured
from initlab.initializers.distributions import *
from initlab.initializers.lsuv import *
from initlab.initializers.params import *
from initlab.initializers.registry import *
from initlab.initializers.schemes import *
from initlab.initializers.structured import *

__all__ = [
    *schemes.__all__,
    *distributions.__all__,
    *structured.__all__,
    *registry.__all__,
    *lsuv.__all__,
    *params.__all__,
]
