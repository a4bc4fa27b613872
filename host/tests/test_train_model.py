"""Windows, splits, metrics, the three architectures and the deterministic training loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robohead.edge.dsp.normalize import Normalization
from robohead.host.metrics import confusion, mean_baseline, regression_metrics
from robohead.host.models import ARCHITECTURES, Deployed, build_model
from robohead.host.splits import SplitError, split_sessions
from robohead.host.training import make_deterministic, predict, train
from robohead.host.windows import SessionFrames, build_windows

MOTORS = ("brows", "smile", "jaw")


def _session(sid: str, m: int, f: int, seed: int) -> SessionFrames:
    """Frames whose motor targets are a smooth function of the features (learnable)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, f)).astype(np.float32)
    lin = x[:, :3] @ np.eye(3, dtype=np.float32)
    targets = (1 / (1 + np.exp(-lin))).astype(np.float32)
    expr = (x[:, 0] > 0).astype(np.int64)
    return SessionFrames(sid, sid.split("/")[0], x, targets, expr)


def _norm(f: int) -> Normalization:
    return Normalization(mean=(0.0,) * f, std=(1.0,) * f)


def test_windows_stay_inside_one_session_and_take_the_newest_label() -> None:
    a, b = _session("s1/a", 10, 3, 0), _session("s1/b", 6, 3, 1)
    ws = build_windows([a, b], _norm(3), context=4)
    assert ws.size == (10 - 3) + (6 - 3)
    x = ws.inputs()
    assert x.shape == (10, 4, 3)
    # the first window of session b is b's frames 0..3, oldest first, labelled at frame 3
    k = int(ws.of_session("s1/b")[0])
    np.testing.assert_array_equal(x[k], b.features[:4])
    np.testing.assert_array_equal(ws.motor_targets()[k], b.targets[3])
    assert ws.expression_targets()[k] == b.expressions[3]
    strided = build_windows([a], _norm(3), context=4, stride=3)
    np.testing.assert_array_equal(strided.ends, [3, 6, 9])


def test_split_by_session_is_disjoint_complete_and_seeded() -> None:
    ids = [f"s{i}/r{j}" for i in range(3) for j in range(3)]
    s = split_sessions(ids, by="session", val_fraction=0.15, test_fraction=0.25, seed=7)
    parts = [set(s.train), set(s.val), set(s.test)]
    assert set().union(*parts) == set(ids)
    assert sum(map(len, parts)) == len(ids)
    assert len(s.test) == 2 and len(s.val) == 1
    # interleaving across subjects: the two test sessions come from two subjects
    assert len({t.split("/")[0] for t in s.test}) == 2
    again = split_sessions(
        list(reversed(ids)), by="session", val_fraction=0.15, test_fraction=0.25, seed=7
    )
    assert again == s


def test_split_by_subject_keeps_each_subject_in_one_part() -> None:
    ids = [f"s{i}/r{j}" for i in range(4) for j in range(2)]
    s = split_sessions(ids, by="subject", val_fraction=0.25, test_fraction=0.25, seed=1)
    owner = {}
    for part, members in (("train", s.train), ("val", s.val), ("test", s.test)):
        for sid in members:
            owner.setdefault(sid.split("/")[0], set()).add(part)
    assert all(len(v) == 1 for v in owner.values())
    with pytest.raises(SplitError, match="at least one training"):
        split_sessions(["a/1", "b/1"], by="subject", val_fraction=0.3, test_fraction=0.3, seed=0)


def test_metrics_and_mean_baseline() -> None:
    true = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.5]])
    m = regression_metrics(true + 0.1, true, MOTORS, prefix="test_")
    assert m["test_mae_brows"] == pytest.approx(0.1)
    assert m["test_rmse"] == pytest.approx(0.1)
    assert m["test_r2_brows"] == pytest.approx(1 - 0.02 / 0.5)
    base = mean_baseline(np.array([[0.5, 0.5, 0.5]]), true, MOTORS)
    assert base["baseline_mae_brows"] == pytest.approx(0.5)
    assert base["baseline_r2_brows"] == pytest.approx(0.0)
    c = confusion(np.array([0, 1, 1]), np.array([0, 0, 1]), 2)
    assert c.tolist() == [[1, 1], [0, 1]]


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_architecture_gives_motors_in_unit_range_and_logits(arch: str) -> None:
    torch.manual_seed(0)
    net = build_model(
        arch,
        frames=8,
        features=5,
        motors=3,
        classes=4,
        hidden=8,
        layers=2,
        kernel_size=3,
        dropout=0.0,
    ).eval()
    with torch.no_grad():
        motors, logits = net(torch.randn(6, 8, 5) * 10)
    assert motors.shape == (6, 3) and logits.shape == (6, 4)
    assert float(motors.min()) >= 0.0 and float(motors.max()) <= 1.0
    headless = build_model(
        arch,
        frames=8,
        features=5,
        motors=3,
        classes=0,
        hidden=8,
        layers=2,
        kernel_size=3,
        dropout=0.0,
    ).eval()
    assert headless(torch.randn(2, 8, 5))[1].shape == (2, 0)


def test_tcn_is_causal_within_the_window() -> None:
    """The newest frame's output must not change when only older-than-receptive-field frames
    change... and must change when the newest frame changes."""
    torch.manual_seed(0)
    net = build_model(
        "tcn",
        frames=16,
        features=3,
        motors=3,
        classes=0,
        hidden=8,
        layers=2,
        kernel_size=3,
        dropout=0.0,
    ).eval()
    x = torch.randn(1, 16, 3)
    y = net(x)[0]
    far = x.clone()
    far[:, :8] += 5.0  # receptive field is 1 + 2*(1+2) = 7 frames
    near = x.clone()
    near[:, -1] += 5.0
    assert torch.allclose(net(far)[0], y)
    assert not torch.allclose(net(near)[0], y)


def _fit(seed: int, arch: str = "tcn") -> tuple[torch.nn.Module, list[float]]:
    sessions = [_session(f"s/{i}", 200, 4, i) for i in range(3)]
    tr = build_windows(sessions[:2], _norm(4), context=6)
    va = build_windows(sessions[2:], _norm(4), context=6)
    make_deterministic(seed, threads=1)
    net = build_model(
        arch,
        frames=6,
        features=4,
        motors=3,
        classes=2,
        hidden=16,
        layers=2,
        kernel_size=3,
        dropout=0.0,
    )
    result = train(
        net,
        tr,
        va,
        seed=seed,
        epochs=6,
        batch_size=32,
        learning_rate=0.01,
        weight_decay=0.0,
        expression_weight=0.2,
        patience=10,
    )
    return result.model, [e.val_loss for e in result.history]


def test_training_is_deterministic_and_learns() -> None:
    a, loss_a = _fit(3)
    b, loss_b = _fit(3)
    assert loss_a == loss_b
    for (na, ta), (nb, tb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert na == nb and torch.equal(ta, tb)
    assert loss_a[-1] < 0.5 * loss_a[0]
    _, loss_c = _fit(4)
    assert loss_c != loss_a  # the seed matters


def test_predict_batches_like_one_call() -> None:
    net, _ = _fit(1, arch="gru")
    x = np.random.default_rng(0).standard_normal((50, 6, 4)).astype(np.float32)
    m1, l1 = predict(net, x, batch_size=7)
    m2, l2 = predict(net, x, batch_size=1000)
    np.testing.assert_allclose(m1, m2, atol=1e-6)
    np.testing.assert_allclose(l1, l2, atol=1e-5)


def test_the_deployed_module_ships_probabilities() -> None:
    torch.manual_seed(0)
    net = build_model(
        "mlp",
        frames=4,
        features=3,
        motors=3,
        classes=5,
        hidden=8,
        layers=1,
        kernel_size=3,
        dropout=0.0,
    ).eval()
    x = torch.randn(9, 4, 3) * 50
    with torch.no_grad():
        _, probs = Deployed(net)(x)
        _, logits = net(x)
    assert torch.allclose(probs.sum(dim=1), torch.ones(9))
    assert torch.equal(probs.argmax(dim=1), logits.argmax(dim=1))
