"""The causal pre-filter and the signal scaling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from robohead.edge.dsp import FilterConfig, counts_to_signal, design_sos, sosfilt_stream
from robohead.edge.dsp.filters import notch_frequencies

CFG = FilterConfig(
    bandpass_hz=(20.0, 450.0), order=4, mains_hz=(50.0, 60.0), notch_harmonics=3, notch_q=30.0
)


def _gain(sos: np.ndarray, f: float, fs: float) -> float:
    _, h = signal.sosfreqz(sos, worN=[f], fs=fs)
    return float(np.abs(h[0]))


def test_counts_are_centred_on_mid_rail_in_full_scale_units() -> None:
    x = counts_to_signal(np.array([[0, 2048, 4095]]), adc_bits=12)
    np.testing.assert_allclose(x, [[-1.0, 0.0, 4095 / 2048 - 1]])


def test_band_pass_and_notches_at_1khz() -> None:
    sos = design_sos(CFG, 1000.0)
    assert notch_frequencies(CFG, 1000.0) == [50.0, 60.0, 100.0, 120.0, 150.0, 180.0]
    for f in (50.0, 60.0, 100.0, 150.0, 180.0):
        assert _gain(sos, f, 1000.0) < 0.01, f  # >= 40 dB down at every notch
    assert 0.9 < _gain(sos, 80.0, 1000.0) < 1.1  # pass band
    assert 0.9 < _gain(sos, 300.0, 1000.0) < 1.1
    assert _gain(sos, 2.0, 1000.0) < 1e-4  # baseline wander
    assert _gain(sos, 495.0, 1000.0) < 0.5  # above the upper edge


def test_high_pass_when_the_upper_edge_is_not_below_nyquist() -> None:
    """At 800 Hz Nyquist is 400 < 450: a high-pass at 20 Hz; the 450 Hz notch-free top stays."""
    sos = design_sos(CFG, 800.0)
    assert notch_frequencies(CFG, 800.0) == [50.0, 60.0, 100.0, 120.0, 150.0, 180.0]
    assert _gain(sos, 390.0, 800.0) > 0.9  # no low-pass any more
    assert _gain(sos, 5.0, 800.0) < 0.01
    # at 200 Hz (Myo-like) the harmonics at/above Nyquist (100, 120, 150, 180) are skipped
    assert notch_frequencies(CFG, 200.0) == [50.0, 60.0]
    sos200 = design_sos(CFG, 200.0)
    assert np.all(np.isfinite(sos200)) and _gain(sos200, 50.0, 200.0) < 0.01


def test_low_edge_at_nyquist_is_refused() -> None:
    from robohead.edge.dsp import DspConfigError

    with pytest.raises(DspConfigError, match="Nyquist"):
        design_sos(CFG, 30.0)


@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_chunked_filtering_equals_whole_record(chunk: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 3)) + np.array([0.3, -0.2, 0.0])
    sos = design_sos(CFG, 1000.0)
    whole, _ = sosfilt_stream(sos, x, None)
    state, parts = None, []
    for i in range(0, len(x), chunk):
        y, state = sosfilt_stream(sos, x[i : i + chunk], state)
        parts.append(y)
    assert np.max(np.abs(np.concatenate(parts) - whole)) <= 1e-12


def test_a_dc_offset_causes_no_start_up_transient() -> None:
    """The state is seeded from the first sample, so a residual offset after the mid-rail
    subtraction (a biased front end) does not ring through the first hundreds of ms."""
    sos = design_sos(CFG, 1000.0)
    y, _ = sosfilt_stream(sos, np.full((300, 2), 0.05), None)
    assert np.max(np.abs(y)) < 1e-9
