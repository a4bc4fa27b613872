"""The one DSP of robohead, shared by training (host) and serving (edge).

raw counts -> ``counts_to_signal`` (fraction of full scale) -> causal band-pass + mains notch
(``design_sos``/``sosfilt_stream``) -> windows (window_ms, hop_ms) -> sEMG features (+ audio
features) -> ``Normalization`` -> K-frame context (``stack_context``/``ContextBuffer``).
"""

from robohead.edge.dsp.audio_features import AudioEncoder, LogMel, mel_filterbank
from robohead.edge.dsp.config import (
    AudioConfig,
    DspConfigError,
    FeatureConfig,
    FilterConfig,
    ThresholdConfig,
)
from robohead.edge.dsp.emg_features import FEATURES, emg_feature_frame, emg_features
from robohead.edge.dsp.extractor import FeatureExtractor, FeatureFrames, extract_session
from robohead.edge.dsp.filters import counts_to_signal, design_sos, sosfilt_stream
from robohead.edge.dsp.normalize import ContextBuffer, Normalization, stack_context
from robohead.edge.dsp.windows import StreamingWindower, sliding_windows

__all__ = [
    "FEATURES",
    "AudioConfig",
    "AudioEncoder",
    "ContextBuffer",
    "DspConfigError",
    "FeatureConfig",
    "FeatureExtractor",
    "FeatureFrames",
    "FilterConfig",
    "LogMel",
    "Normalization",
    "StreamingWindower",
    "ThresholdConfig",
    "counts_to_signal",
    "design_sos",
    "emg_feature_frame",
    "emg_features",
    "extract_session",
    "mel_filterbank",
    "sliding_windows",
    "sosfilt_stream",
    "stack_context",
]
