"""initlab for PyTorch models: initialize, LSUV, and record per-layer statistics.

Needs PyTorch: ``pip install "initlab[torch]"`` (for the CPU-only build, install torch first
with ``pip install torch --index-url https://download.pytorch.org/whl/cpu``). This package is
``initlab.torch``; it imports PyTorch itself with an absolute ``import torch``, so the two
never clash.

Which parameters, and their fans
--------------------------------
:func:`init_` (and :func:`initialize`, which returns an :class:`InitSummary` of what it did)
walks every parameter of a module:

======================================  ===============================  ====================
parameter                               drawn with                       fans of each draw
======================================  ===============================  ====================
``Linear``/``ConvNd`` weight            ``init``                         in, out (·∏k: conv)
attention ``in_proj_weight`` (3E, E)    ``init``, Q, K, V separately     E, E per block
attention ``q/k/v_proj_weight``         ``init``                         E/kdim/vdim, E
recurrent ``weight_ih`` (G·H, in)       ``init``, gate by gate           in, H per gate
recurrent ``weight_hh`` (G·H, H)        ``recurrent_init`` (orthogonal)  H, H per gate
``Embedding`` weight (n, d)             ``embedding_init`` (N(0, 1))     d, n
every bias                              ``bias_init`` (zeros)            —
norm layers' weight, bias               ones, zeros                      —
======================================  ===============================  ====================

G is 4 for an LSTM (input, forget, cell, output gates), 3 for a GRU, 1 for an RNN. A weight
of shape ``(out, in / groups, *k)`` is initlab's layout, so each draw gets the shape of its
parameter or block, and initlab's fans of that shape are
``torch.nn.init._calculate_fan_in_and_fan_out`` of it. Weights are drawn in float64 and
copied into the parameter, keeping its dtype and device, without autograd tracking; each
module's weight is drawn before its bias, as :func:`initlab.initializers.init_params` does.

``nn.ConvTranspose*`` are skipped: their weight is stored ``(in, out / groups, *k)``, and
``torch.nn.init`` applies the same fan formula to it anyway, which calls the *output*
channels the fan-in; the fan that preserves a transposed convolution's forward variance also
depends on its stride. Neither convention is clearly right, so initlab leaves those layers
as they are rather than pick one silently. Those, and parameters of any module without a
rule (``PReLU``, ``Bilinear``, a raw ``nn.Parameter`` of your own module), are named with the
reason in one :class:`SkippedLayerWarning` and in :attr:`InitSummary.skipped`.

Inputs
------
:func:`record`, :func:`lsuv_` and :func:`execution_order` take ``X`` as the model's
``forward`` takes it: a tensor is passed untouched (token ids stay integers), a ``tuple`` is
the positional arguments, a ``dict`` the keyword arguments; a NumPy array or list becomes a
tensor on the model's device, floating data in the model's floating dtype, integers kept
integers.

Recording: what maps to what
----------------------------
:func:`record` runs a batch through the model with forward hooks and returns initlab's
:class:`~initlab.diagnostics.Records`, so :func:`~initlab.diagnostics.diagnose`,
:func:`~initlab.diagnostics.verdict` and :func:`~initlab.plots.plot_activation_histograms`
work on PyTorch models unchanged:

- a *layer* is one Linear, Conv, MultiheadAttention or RNN/LSTM/GRU module, numbered from 1
  in the order the forward pass first calls it; the last one called is the ``"output"``
  layer. PyTorch's fused transformer fast path is turned off while recording: it runs an
  encoder layer in one kernel, and no hook would fire;
- ``Z`` (pre-activation) is that module's output: an attention layer's is ``out_proj`` of the
  attended values, a recurrent layer's its output sequence (``output[0]``);
- ``A`` (activation) is the output of the first activation module (``nn.ReLU``, ``nn.Tanh``,
  ``nn.Sigmoid``, ``nn.Softmax``, … anything in ``torch.nn.modules.activation``) called after
  it and before the next layer; ``activation`` is its initlab name (``"relu"``, ``"tanh"``,
  …) or its lower-cased class name. Modules in between (dropout, normalisation, pooling) are
  passed over. With no activation module (``F.relu`` called in ``forward``, as
  ``TransformerEncoderLayer`` does, or none at all), ``A = Z`` and the activation is
  ``"linear"`` (``"lstm"``, ``"gru"``, ``"rnn"`` for a recurrent layer) — except for the
  output layer, whose logits go through initlab's head, as a torch model trained with
  ``BCEWithLogitsLoss`` or ``CrossEntropyLoss`` would: a sigmoid for one output unit, a
  softmax over the units for more (``head="auto"``; ``head="linear"`` keeps ``A = Z``);
- a *unit* is an output feature (the last dimension) of a Linear, attention or recurrent
  layer, or an output channel of a Conv (dimension 1); ``width`` counts them,
  ``dead_fraction`` is the fraction of units never positive anywhere in the batch, and
  ``distinct_units`` compares the units' weight rows and biases (a Conv's weight reshaped to
  ``(units, -1)``; an attention layer's ``out_proj``; a recurrent layer's last-layer gate
  rows);
- gradient norms ‖∂L/∂W‖ and ‖∂L/∂b‖ are recorded when labels ``y`` are given: the loss is
  ``loss_fn(model(X), y)``, or by default initlab's mean cross-entropy on the output layer's
  logits (binary from one unit, categorical from K); without ``y`` they are NaN, as are
  ``infinite_loss_fraction`` and ``update_ratio`` (there is no update).

A module that the forward pass calls more than once (shared weights) is recorded at its
first call only. Embeddings and normalisation layers are not layers of the records: they
have no fan-in to diagnose. Recordable layers the pass never calls are named in a
:class:`RecordWarning`, so a verdict always says which layers it covers.
"""

from initlab.torch._init import SkippedLayerWarning, init_, initialize, lsuv_
from initlab.torch._layers import (
    RECORDED_LAYERS,
    WEIGHT_LAYERS,
    RecordedLayer,
    execution_order,
    recorded_layers,
    weight_layers,
)
from initlab.torch._record import ACTIVATION_NAMES, RecordWarning, record
from initlab.torch._rules import NORM_LAYERS, SKIPPED_LAYERS, InitSummary

__all__ = [
    "ACTIVATION_NAMES",
    "NORM_LAYERS",
    "RECORDED_LAYERS",
    "SKIPPED_LAYERS",
    "WEIGHT_LAYERS",
    "InitSummary",
    "RecordWarning",
    "RecordedLayer",
    "SkippedLayerWarning",
    "execution_order",
    "init_",
    "initialize",
    "lsuv_",
    "record",
    "recorded_layers",
    "weight_layers",
]
