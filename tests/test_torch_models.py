"""initlab.torch on the models PyTorch users build: a small transformer, an LSTM, a CNN.

Every parameter is either set as asked or named as skipped; packed parameters (attention's
Q/K/V, recurrent gates) are drawn block by block with each block's own fans; ``record`` and
``lsuv_`` take integer token ids, tuples and dicts; records give per-layer statistics and a
verdict.

Tolerances. A sample variance of n draws has standard error σ²·√((κ − 1)/n) (κ the
kurtosis: 3 for a normal), so ≤ σ²·√(2/n); every variance check allows 5 standard errors,
|s²/σ² − 1| ≤ 5·√(2/n). Where a block's fans and the whole matrix's fans differ, the two
variances differ by a factor of 2 or more, well outside that band: the tests can tell a
per-block draw from a whole-matrix one. Orthogonality is checked as WᵀW = I within 1e-5
(float32 rounding of entries of size ~1/√H). LSUV's tolerance is its own ``tol`` (0.1).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import initlab.torch as itorch  # noqa: E402
from initlab import initializers  # noqa: E402
from initlab.diagnostics import diagnose, verdict  # noqa: E402
from initlab.rng import streams  # noqa: E402
from initlab.torch import (  # noqa: E402
    RecordWarning,
    SkippedLayerWarning,
    initialize,
    lsuv_,
    record,
)

VOCAB, D_MODEL, HEADS, FF, CLASSES = 50, 16, 2, 32, 3
SEQ, BATCH = 7, 64
Z_TOL = 5.0  # standard errors allowed
LSUV_TOL = 0.1


def var_ok(values: torch.Tensor, var: float) -> bool:
    """The sample variance (about 0) of ``values`` is ``var`` within Z_TOL standard errors."""
    x = values.detach().double().reshape(-1)
    return abs(float((x * x).mean()) / var - 1) <= Z_TOL * math.sqrt(2 / x.numel())


def xavier_var(block: torch.Tensor) -> float:
    """xavier_normal's variance 2 / (fan_in + fan_out), with torch's fans of ``block``."""
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(block)
    return 2 / (fan_in + fan_out)


class Transformer(nn.Module):
    """Embedding + TransformerEncoder(2 layers, d_model 16, 2 heads) + mean-pool + linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D_MODEL, padding_idx=0)
        layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(D_MODEL, CLASSES)

    def forward(self, ids: Any, mask: Any = None) -> Any:
        return self.head(self.encoder(self.embed(ids), src_key_padding_mask=mask).mean(dim=1))


class LSTMModel(nn.Module):
    """Embedding + LSTM(2 layers) + linear head on the last step."""

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D_MODEL)
        self.lstm = nn.LSTM(D_MODEL, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, CLASSES)

    def forward(self, ids: Any) -> Any:
        return self.head(self.lstm(self.embed(ids))[0][:, -1])


def cnn() -> Any:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3), nn.GroupNorm(4, 16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, CLASSES),
    )  # fmt: skip


def token_ids(seed: int = 0) -> Any:
    return torch.randint(1, VOCAB, (BATCH, SEQ), generator=torch.Generator().manual_seed(seed))


def labels(seed: int = 0) -> Any:
    return torch.randint(0, CLASSES, (BATCH,), generator=torch.Generator().manual_seed(seed))


def assert_every_parameter_accounted_for(model: Any, summary: Any) -> None:
    names = [name for name, _ in model.named_parameters()]
    assert sorted([*summary.done, *summary.skipped]) == sorted(names)
    assert not set(summary.done) & set(summary.skipped)


# --- init_: every parameter as asked ---------------------------------------------------------


def test_transformer_every_parameter_set_and_qkv_blocks_get_their_own_fans() -> None:
    torch.manual_seed(0)  # torch's own default init, overwritten below
    model = Transformer()
    summary = initialize(model, "xavier_normal", {"name": "constant", "value": 0.01}, 0)
    assert_every_parameter_accounted_for(model, summary)
    assert summary.skipped == {}
    # Q, K, V: three (16, 16) blocks, fans (16, 16), variance 2/32; pooled over the two
    # layers (n = 512): the whole (48, 16) matrix's fans would give 2/64, off by ×2.
    for block in range(3):
        rows = slice(block * D_MODEL, (block + 1) * D_MODEL)
        blocks = [layer.self_attn.in_proj_weight[rows] for layer in model.encoder.layers]
        var = xavier_var(blocks[0])
        assert var == 2 / 32
        assert var_ok(torch.cat(blocks), var)
        assert not var_ok(torch.cat(blocks), 2 / 64)
    for layer in model.encoder.layers:
        assert (
            "per block: 3 × (16, 16)"
            in summary.done[
                next(n for n, p in model.named_parameters() if p is layer.self_attn.in_proj_weight)
            ]
        )
        for p in (layer.self_attn.in_proj_bias, layer.self_attn.out_proj.bias, layer.linear1.bias):
            assert torch.all(p == 0.01)
        for norm in (layer.norm1, layer.norm2):
            assert torch.all(norm.weight == 1)
            assert torch.all(norm.bias == 0)
    out_proj = torch.cat([layer.self_attn.out_proj.weight for layer in model.encoder.layers])
    assert var_ok(out_proj, 2 / 32)
    # Embedding: N(0, 1) by default (n = 49 · 16 rows off padding), padding row zero.
    assert var_ok(model.embed.weight[1:], 1.0)
    assert torch.all(model.embed.weight[0] == 0)


def test_attention_blocks_are_the_generators_draws_in_order() -> None:
    """in_proj_weight is exactly three (E, E) draws from the init stream, Q then K then V."""
    mha = nn.MultiheadAttention(8, 2)
    initialize(mha, "xavier_normal", generator=3)
    rng = streams(3).init
    init = initializers.get("xavier_normal")
    expected = np.concatenate([init(rng, (8, 8)) for _ in range(3)])
    assert torch.equal(mha.in_proj_weight, torch.from_numpy(expected).float())


def test_separate_qkv_projections_and_large_packed_blocks_match_their_fans() -> None:
    """At scale (n ≥ 2,048 per block), each projection's variance is its own fans'."""
    separate = nn.MultiheadAttention(64, 4, kdim=256, vdim=32, add_bias_kv=True)
    assert not separate._qkv_same_embed_dim
    summary = initialize(separate, "xavier_normal", generator=0)
    assert_every_parameter_accounted_for(separate, summary)
    for p, var in ((separate.q_proj_weight, 2 / 128), (separate.k_proj_weight, 2 / 320),
                   (separate.v_proj_weight, 2 / 96)):  # fmt: skip
        assert xavier_var(p) == var
        assert var_ok(p, var)
    assert torch.all(separate.bias_k == 0)
    assert torch.all(separate.bias_v == 0)
    packed = nn.MultiheadAttention(64, 4)
    initialize(packed, "xavier_normal", generator=0)
    for q_k_v in packed.in_proj_weight.split(64):
        assert var_ok(q_k_v, 2 / 128)
        assert not var_ok(q_k_v, 2 / 256)  # the whole (192, 64) matrix's fans


@pytest.mark.parametrize(
    ("make", "gates"),
    [
        (lambda: nn.LSTM(16, 32, num_layers=2), 4),
        (lambda: nn.GRU(16, 32, bidirectional=True), 3),
        (lambda: nn.RNN(16, 32), 1),
        (lambda: nn.LSTM(16, 32, proj_size=8), 4),
        (lambda: nn.LSTMCell(16, 32), 4),
    ],
    ids=["lstm-2-layers", "gru-bidirectional", "rnn", "lstm-proj", "lstm-cell"],
)
def test_recurrent_weights_per_gate(make: Any, gates: int) -> None:
    module = make()
    summary = initialize(module, "xavier_uniform", generator=0)
    assert_every_parameter_accounted_for(module, summary)
    assert summary.skipped == {}
    hidden = module.hidden_size
    for name, p in module.named_parameters():
        if name.startswith("weight_hh"):
            assert p.shape[0] == gates * hidden
            for W in p.detach().double().split(hidden):  # each gate: (H, H) or (H, proj)
                small = min(W.shape)
                gram = W.T @ W if W.shape[0] >= W.shape[1] else W @ W.T
                assert torch.allclose(gram, torch.eye(small, dtype=gram.dtype), atol=1e-5)
            if p.shape[1] == hidden and gates > 1:  # not orthogonal as one (G·H, H) matrix
                whole = p.detach().double()
                assert torch.allclose(
                    whole.T @ whole, gates * torch.eye(hidden).double(), atol=1e-4
                )
        elif name.startswith("weight_ih"):
            for W in p.detach().split(hidden):  # xavier_uniform bound from the gate's fans
                fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(W)
                bound = math.sqrt(6 / (fan_in + fan_out))
                assert float(W.abs().max()) <= bound * (1 + 1e-6)
                assert float(W.abs().max()) > bound * (1 - 20 / W.numel())  # reached: not the
                # whole matrix's smaller bound √(6 / (in + G·H))
        elif name.startswith("bias"):
            assert torch.all(p == 0)


def test_cnn_norm_layers_and_skipped_parameters_are_named() -> None:
    model = cnn()
    summary = initialize(model, "kaiming_normal", generator=0)
    assert_every_parameter_accounted_for(model, summary)
    assert summary.skipped == {}
    assert summary.done["1.weight"] == "constant 1"
    assert summary.done["4.bias"] == "constant 0"
    odd = nn.Sequential(nn.Linear(4, 4), nn.PReLU(), nn.ConvTranspose2d(4, 2, 3))
    with pytest.warns(SkippedLayerWarning) as caught:
        summary = initialize(odd, "he_normal", generator=0)
    assert len(caught) == 1  # one warning naming them all
    message = str(caught[0].message)
    assert "'1.weight' (no initlab rule for PReLU.weight)" in message
    assert "'2.weight', '2.bias' (transposed convolution" in message
    assert set(summary.skipped) == {"1.weight", "2.weight", "2.bias"}
    assert_every_parameter_accounted_for(odd, summary)


def test_a_raw_parameter_is_named_and_a_tied_weight_set_once() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(10, 4)
            self.position = nn.Parameter(torch.ones(5, 4))
            self.head = nn.Linear(4, 10, bias=False)
            self.head.weight = self.embed.weight

    model = Tied()
    with pytest.warns(SkippedLayerWarning, match=r"'position' \(no initlab rule for Tied"):
        summary = initialize(model, generator=0)
    assert set(summary.done) == {"embed.weight"}
    assert torch.all(model.position == 1)


# --- record and lsuv_ on integer inputs; a verdict --------------------------------------------


def test_transformer_records_every_layer_in_eval_mode_and_gives_a_verdict() -> None:
    model = Transformer().eval()  # eval + no autograd: PyTorch's fused fast path
    itorch.init_(model, "xavier_uniform", generator=0)
    ids = token_ids()
    assert ids.dtype == torch.int64
    records = record(model, ids, labels())
    assert torch.backends.mha.get_fastpath_enabled()  # restored afterwards
    rows = records.rows
    assert [r.width for r in rows] == [16, FF, 16, 16, FF, 16, CLASSES]
    assert [r.kind for r in rows] == ["hidden"] * 6 + ["output"]
    assert [r.activation for r in rows] == ["linear"] * 6 + ["softmax"]
    assert all(r.z_std > 0 and math.isfinite(r.z_std) for r in rows)
    assert all(r.grad_W_norm > 0 for r in rows)
    assert all(r.distinct_units == r.width for r in rows)
    assert verdict(diagnose(records))
    # The same statistics from a tuple of positional arguments and a dict of keyword ones.
    mask = torch.zeros(BATCH, SEQ, dtype=torch.bool)
    for X in ((ids, mask), {"ids": ids, "mask": mask}):
        again = record(model, X, labels())
        assert [r.z_std for r in again.rows] == pytest.approx([r.z_std for r in rows], rel=1e-6)


def test_lsuv_on_the_transformer_from_token_ids() -> None:
    model = Transformer()
    ids = token_ids()
    summary_model = lsuv_(model, ids, tol=LSUV_TOL, generator=0)
    assert summary_model is model
    rows = record(model, ids).rows
    assert len(rows) == 7  # two attention layers, four feed-forward linears, the head
    assert all(abs(r.z_std - 1) < LSUV_TOL for r in rows), [r.z_std for r in rows]
    summary = initialize(Transformer(), "lsuv", X=ids, generator=0)
    rescaled = [name for name, how in summary.done.items() if "LSUV-rescaled" in how]
    assert "encoder.layers.0.self_attn.out_proj.weight" in rescaled
    assert len(rescaled) == 7


def test_lstm_model_records_lsuv_and_a_verdict() -> None:
    model = LSTMModel()
    summary = initialize(model, "xavier_uniform", generator=0)
    assert_every_parameter_accounted_for(model, summary)
    ids = token_ids()
    records = record(model, ids, labels())
    assert [(r.width, r.activation) for r in records.rows] == [(32, "lstm"), (CLASSES, "softmax")]
    assert all(r.grad_W_norm > 0 and r.grad_b_norm > 0 for r in records.rows)
    assert records.rows[0].distinct_units == 32
    assert verdict(diagnose(records))
    lsuv_(model, ids, tol=LSUV_TOL, generator=0)
    head = record(model, ids).rows[-1]  # the head is rescaled; the LSTM's h is bounded
    assert abs(head.z_std - 1) < LSUV_TOL


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_bidirectional_projected_lstm_rows() -> None:
    lstm = nn.LSTM(4, 6, proj_size=3, bidirectional=True, batch_first=True)
    initialize(lstm, generator=0)
    X = torch.randn(5, 2, 4, generator=torch.Generator().manual_seed(0))
    (row,) = record(lstm, X, head="linear").rows
    assert row.width == 6  # 2 directions × proj_size 3
    assert row.distinct_units == 6


def test_cnn_records_lsuv_and_a_verdict() -> None:
    model = cnn()
    X = torch.randn(32, 1, 10, 10, generator=torch.Generator().manual_seed(0))
    itorch.init_(model, "he_normal", generator=0)
    records = record(model, X, labels()[:32])
    assert [(r.width, r.activation) for r in records.rows] == [
        (8, "relu"), (16, "relu"), (CLASSES, "softmax"),
    ]  # fmt: skip
    assert verdict(diagnose(records))
    lsuv_(model, X, tol=LSUV_TOL, generator=0)
    assert all(abs(r.z_std - 1) < LSUV_TOL for r in record(model, X).rows)


def test_record_says_which_layers_are_missing_or_why_there_is_no_verdict() -> None:
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = nn.Linear(4, 4)
            self.unused = nn.Linear(4, 4)

        def forward(self, x: Any) -> Any:
            return self.used(x)

    X = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    with pytest.warns(RecordWarning, match=r"never called layer\(s\) \['unused'\].*\['used'\]"):
        assert len(record(Branchy(), X).rows) == 1

    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: Any) -> Any:
            return nn.functional.linear(x, self.fc.weight)

    with pytest.raises(ValueError, match=r"called none of the recordable layers \['fc'\]"):
        record(Functional(), X)


def test_integer_inputs_are_not_cast_and_arrays_are_converted() -> None:
    seen: list[Any] = []

    class Probe(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, 4)
            self.fc = nn.Linear(4, 2)

        def forward(self, ids: Any) -> Any:
            seen.append(ids.dtype)
            return self.fc(self.embed(ids))

    ids = token_ids()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        record(Probe(), ids)
        record(Probe(), ids.numpy())  # a NumPy int64 array stays integer
    assert seen == [torch.int64, torch.int64]


def test_all_names_resolve() -> None:
    assert sorted(itorch.__all__) == sorted(set(itorch.__all__))
    for name in itorch.__all__:
        assert getattr(itorch, name) is not None
