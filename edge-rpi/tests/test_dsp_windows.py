"""Windowing, context stacking and normalisation: streaming equals offline for any chunking."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robohead.edge.dsp import ContextBuffer, Normalization, StreamingWindower, stack_context
from robohead.edge.dsp.windows import frame_end_samples, sliding_windows


def _chunks(n: int, sizes: list[int]) -> list[tuple[int, int]]:
    out, i, j = [], 0, 0
    while i < n:
        step = sizes[j % len(sizes)]
        out.append((i, min(n, i + step)))
        i, j = i + step, j + 1
    return out


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 120),
    window=st.integers(1, 20),
    hop=st.integers(1, 25),
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6),
)
def test_streaming_windows_equal_offline(n: int, window: int, hop: int, sizes: list[int]) -> None:
    x = np.arange(n * 2, dtype=np.float64).reshape(n, 2)
    offline = sliding_windows(x, window, hop)
    w = StreamingWindower(window, hop, 2)
    got = [w.push(x[a:b]) for a, b in _chunks(n, sizes)]
    wins = np.concatenate([g[0] for g in got]) if got else np.empty((0, 2, window))
    ends = np.concatenate([g[1] for g in got]) if got else np.empty(0, np.int64)
    np.testing.assert_array_equal(wins, offline)
    np.testing.assert_array_equal(ends, frame_end_samples(0, len(offline), window, hop))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 60), k=st.integers(1, 8), sizes=st.lists(st.integers(1, 9), min_size=1))
def test_context_buffer_equals_stack_context(n: int, k: int, sizes: list[int]) -> None:
    frames = np.random.default_rng(n).standard_normal((n, 3)).astype(np.float32)
    buf = ContextBuffer(k, 3)
    got = [buf.push(frames[a:b]) for a, b in _chunks(n, sizes)]
    stacked = np.concatenate(got) if got else np.empty((0, k, 3), np.float32)
    np.testing.assert_array_equal(stacked, stack_context(frames, k))


def test_stack_context_orders_oldest_first() -> None:
    frames = np.arange(5, dtype=np.float32)[:, None]
    s = stack_context(frames, 3)
    assert s.shape == (3, 3, 1)
    np.testing.assert_array_equal(s[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(s[-1, :, 0], [2, 3, 4])


def test_normalization_fit_apply_and_std_floor() -> None:
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(5, 2, 1000), np.full(1000, 7.0)])
    norm = Normalization.fit(x, std_floor=1e-6)
    z = norm.apply(x)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z[:, 0].mean(), 0, atol=1e-5)
    np.testing.assert_allclose(z[:, 0].std(), 1, atol=1e-5)
    assert np.all(z[:, 1] == 0) and norm.std[1] == 1e-6
    assert Normalization.model_validate_json(norm.model_dump_json()) == norm
    with pytest.raises(ValueError, match="3 features"):
        norm.apply(np.zeros((2, 3)))
