"""The sEMG features against the MATLAB reference values (LibEMG, see data/libemg/PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robohead.edge.dsp import ThresholdConfig, emg_features, sliding_windows

DATA = Path(__file__).parent / "data" / "libemg"
FEATURES = ["MAV", "RMS", "IAV", "WL", "ZC", "SSC", "WAMP", "DASDV", "MAVFD", "LD", "SKEW", "KURT"]
REFERENCE_THRESHOLDS = ThresholdConfig(zc=0.0, ssc=0.0, wamp=0.002)


def _ours() -> np.ndarray:
    emg = np.loadtxt(DATA / "emg_data_myo.csv", delimiter=",")
    windows = sliding_windows(emg, 200, 25)  # (13, 8, 200)
    assert windows.shape == (13, 8, 200)
    return emg_features(windows, FEATURES, REFERENCE_THRESHOLDS)  # (13, 12, 8)


def relative_differences(name: str) -> np.ndarray:
    ref = np.loadtxt(DATA / f"matlab_{name}.csv", delimiter=",")
    ours = _ours()[:, FEATURES.index(name), :]
    return np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-12)


@pytest.mark.parametrize("name", FEATURES)
def test_feature_matches_matlab_reference(name: str) -> None:
    rel = relative_differences(name)
    assert rel.shape == (13, 8)
    assert np.median(rel) < 0.01, f"{name}: median relative difference {np.median(rel):.3g}"
    assert rel.max() < 0.01, f"{name}: max relative difference {rel.max():.3g}"


def test_thresholds_change_the_counts() -> None:
    """The thresholds are real parameters: a higher WAMP/ZC/SSC threshold counts fewer."""
    emg = np.loadtxt(DATA / "emg_data_myo.csv", delimiter=",")
    w = sliding_windows(emg, 200, 25)
    low = emg_features(w, ["ZC", "SSC", "WAMP"], REFERENCE_THRESHOLDS)
    high = emg_features(w, ["ZC", "SSC", "WAMP"], ThresholdConfig(zc=5.0, ssc=25.0, wamp=5.0))
    assert np.all(high <= low) and np.all(high.sum(axis=(0, 2)) < low.sum(axis=(0, 2)))


if __name__ == "__main__":  # print the measured differences (for the README)
    for n in FEATURES:
        r = relative_differences(n)
        print(f"{n:6s} median {np.median(r):.2e} max {r.max():.2e}")
