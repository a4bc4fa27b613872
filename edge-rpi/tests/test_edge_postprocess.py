"""One-Euro smoothing, deadband and rate limits: invariants over arbitrary inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robohead.edge.postprocess import Deadband, OneEuroFilter, PostProcessor, RateLimiter


def make(**overrides: object) -> PostProcessor:
    kwargs: dict[str, object] = dict(
        motors=3,
        min_cutoff_hz=1.0,
        beta=0.5,
        d_cutoff_hz=1.0,
        deadband=0.01,
        max_rate_per_s=[4.0, 4.0, 8.0],
    )
    kwargs.update(overrides)
    return PostProcessor(**kwargs)  # type: ignore[arg-type]


def test_one_euro_with_beta_zero_is_the_exponential_low_pass() -> None:
    """beta = 0: a fixed-cutoff first-order low-pass; compare with the closed form."""
    f = OneEuroFilter(min_cutoff_hz=2.0, beta=0.0)
    dt = 0.01
    alpha = 1.0 / (1.0 + 1.0 / (2 * math.pi * 2.0) / dt)
    f(np.array([0.0]), 0.0)
    out = [f(np.array([1.0]), (i + 1) * dt)[0] for i in range(50)]
    expected = [1.0 - (1.0 - alpha) ** (i + 1) for i in range(50)]
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_one_euro_smooths_jitter_at_rest() -> None:
    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.5)
    noisy = 0.5 + 0.05 * rng.standard_normal((500, 3))
    out = np.array([f(x, i * 0.01) for i, x in enumerate(noisy)])
    assert out[100:].std(axis=0).max() < noisy.std(axis=0).min() / 3


def test_one_euro_speed_term_reduces_lag() -> None:
    """On a fast ramp, a larger beta tracks closer (the point of the filter)."""
    slow, fast = OneEuroFilter(1.0, 0.0), OneEuroFilter(1.0, 5.0)
    t = np.arange(0, 0.5, 0.01)
    ramp = 2.0 * t
    lag_slow = max(abs(slow(np.array([x]), ti)[0] - x) for ti, x in zip(t, ramp, strict=True))
    lag_fast = max(abs(fast(np.array([x]), ti)[0] - x) for ti, x in zip(t, ramp, strict=True))
    assert lag_fast < lag_slow / 2


def test_one_euro_ignores_repeated_timestamps() -> None:
    f = OneEuroFilter(1.0, 0.5)
    f(np.array([0.0]), 1.0)
    assert f(np.array([1.0]), 1.0)[0] == 0.0


def test_deadband_holds_small_changes_and_passes_large_ones() -> None:
    d = Deadband(0.05)
    assert d(np.array([0.5]))[0] == 0.5
    assert d(np.array([0.54]))[0] == 0.5
    assert d(np.array([0.46]))[0] == 0.5
    assert d(np.array([0.56]))[0] == 0.56


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.0, 0.2), st.lists(st.floats(-2, 3), min_size=3, max_size=3)),
        min_size=2,
        max_size=60,
    )
)
def test_rate_limit_and_range_hold_for_any_input(steps: list[tuple[float, list[float]]]) -> None:
    rates = np.array([4.0, 4.0, 8.0])
    post = make(max_rate_per_s=list(rates))
    t, previous = 0.0, None
    for dt, target in steps:
        t += dt
        out = post(np.array(target), t)
        assert np.all(out >= 0.0) and np.all(out <= 1.0)
        if previous is not None:
            assert np.all(np.abs(out - previous) <= rates * dt + 1e-9)
        previous = out


def test_rate_limiter_reaches_the_target() -> None:
    r = RateLimiter(np.array([1.0]))
    r(np.array([0.0]), 0.0)
    assert r(np.array([1.0]), 0.5)[0] == pytest.approx(0.5)
    assert r(np.array([1.0]), 1.5)[0] == pytest.approx(1.0)


def test_non_finite_model_output_holds_the_last_command() -> None:
    post = make()
    first = post(np.array([0.2, 0.3, 0.4]), 0.0)
    out = post(np.array([np.nan, 0.3, np.inf]), 0.02)
    assert out[0] == pytest.approx(first[0]) and out[2] == pytest.approx(first[2])


def test_manual_pose_skips_smoothing_but_not_the_rate_limit() -> None:
    post = make(min_cutoff_hz=0.01, beta=0.0, deadband=0.0, max_rate_per_s=[1.0, 1.0, 1.0])
    post.reset(np.zeros(3), 0.0)
    out = post(np.ones(3), 0.1, smooth=False)
    np.testing.assert_allclose(out, [0.1, 0.1, 0.1])
    out = post(np.ones(3), 10.0, smooth=False)
    np.testing.assert_allclose(out, [1.0, 1.0, 1.0])


def test_wrong_motor_count_is_an_error() -> None:
    with pytest.raises(ValueError, match="one per motor"):
        make(max_rate_per_s=[1.0, 1.0])
    with pytest.raises(ValueError, match="expected 3 motor targets"):
        make()(np.zeros(2), 0.0)
