"""The feature configuration: one pydantic model for everything that turns raw samples into
model inputs. Built on the host from params.yaml's ``dsp:`` section plus the device/session facts
(sampling rate, ADC bits, channel names, audio rate), stored verbatim in the deploy bundle, and
read back on the edge, so training and serving build identical inputs.

Every field is required (no defaults here): params.yaml is the one source of the values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

EmgFeatureName = Literal[
    "MAV", "RMS", "IAV", "VAR", "WL", "ZC", "SSC", "WAMP", "DASDV", "MAVFD", "LD", "SKEW", "KURT"
]
AudioFeatureKind = Literal["none", "logmel", "wav2vec2"]


class DspConfigError(ValueError):
    """A DSP parameter that cannot work (names the field and what was expected)."""


def _ms_to_samples(ms: float, rate_hz: float, field: str) -> int:
    """Exact sample count of a duration; refuse a non-integer so frames never drift."""
    exact = ms * rate_hz / 1000.0
    n = round(exact)
    if abs(exact - n) > 1e-9 or n < 1:
        raise DspConfigError(
            f"{field}={ms} ms at {rate_hz} Hz is {exact} samples; expected a positive whole number"
        )
    return n


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FilterConfig(_Strict):
    """Causal IIR pre-filter: Butterworth band-pass (high-pass when the upper edge is not below
    Nyquist) followed by mains notches at ``f * k``, f in ``mains_hz``, k = 1..notch_harmonics."""

    bandpass_hz: tuple[float, float] = Field(description="pass band [low, high] in Hz")
    order: int = Field(ge=1, le=8, description="Butterworth order (per edge)")
    mains_hz: tuple[float, ...] = Field(description="mains frequencies (50 and/or 60); [] = none")
    notch_harmonics: int = Field(
        ge=0, description="multiples of mains_hz notched (1 = fundamental)"
    )
    notch_q: float = Field(gt=0, description="quality factor of each notch")

    @model_validator(mode="after")
    def _band_order(self) -> FilterConfig:
        lo, hi = self.bandpass_hz
        if not 0 < lo < hi:
            raise ValueError(f"bandpass_hz={list(self.bandpass_hz)}: expected 0 < low < high")
        if any(f <= 0 for f in self.mains_hz):
            raise ValueError(f"mains_hz={list(self.mains_hz)}: expected positive frequencies")
        return self


class ThresholdConfig(_Strict):
    """Amplitude thresholds of the count features, in the units of the scaled signal
    (fraction of ADC full scale; see ``filters.counts_to_signal``)."""

    zc: float = Field(ge=0, description="ZC: |x[i+1]-x[i]| must be >= zc at a sign change")
    ssc: float = Field(ge=0, description="SSC: (x[i]-x[i-1])*(x[i]-x[i+1]) >= ssc")
    wamp: float = Field(ge=0, description="WAMP: |x[i+1]-x[i]| > wamp")


class AudioConfig(_Strict):
    """Audio features per sEMG frame, computed over the audio window ending at the frame's end."""

    features: AudioFeatureKind
    sampling_rate_hz: int = Field(gt=0)
    window_ms: float = Field(gt=0, description="log-mel analysis window ending at the frame end")
    n_mels: int = Field(ge=1)
    fmin_hz: float = Field(ge=0)
    fmax_hz: float = Field(gt=0)
    log_floor: float = Field(gt=0, description="added before log so silence is finite")
    wav2vec2_model: str | None = Field(description="model path or hub id (features: wav2vec2)")
    wav2vec2_window_ms: float = Field(gt=0, description="audio context fed to the encoder")
    wav2vec2_dim: int | None = Field(
        default=None, ge=1, description="embedding size; set by the export, needed on the edge"
    )

    @property
    def window_samples(self) -> int:
        return _ms_to_samples(self.window_ms, self.sampling_rate_hz, "dsp.audio.window_ms")

    @property
    def wav2vec2_window_samples(self) -> int:
        return _ms_to_samples(
            self.wav2vec2_window_ms, self.sampling_rate_hz, "dsp.audio.wav2vec2_window_ms"
        )

    @property
    def n_features(self) -> int:
        if self.features == "logmel":
            return self.n_mels
        if self.features == "wav2vec2":
            if self.wav2vec2_dim is None:
                raise DspConfigError("dsp.audio.wav2vec2_dim is unset; the export must set it")
            return self.wav2vec2_dim
        return 0

    @property
    def feature_names(self) -> list[str]:
        if self.features == "logmel":
            return [f"logmel:{i:02d}" for i in range(self.n_mels)]
        return [f"wav2vec2:{i:03d}" for i in range(self.n_features)]

    @model_validator(mode="after")
    def _check(self) -> AudioConfig:
        if (
            self.features == "logmel"
            and not self.fmin_hz < self.fmax_hz <= self.sampling_rate_hz / 2
        ):
            raise ValueError(
                f"audio fmin_hz={self.fmin_hz}, fmax_hz={self.fmax_hz}: expected "
                f"fmin < fmax <= Nyquist ({self.sampling_rate_hz / 2} Hz)"
            )
        if self.features == "wav2vec2" and not self.wav2vec2_model:
            raise ValueError("audio features 'wav2vec2' need wav2vec2_model (path or hub id)")
        if self.features != "none":
            _ = self.window_samples if self.features == "logmel" else self.wav2vec2_window_samples
        return self


class FeatureConfig(_Strict):
    """Everything from raw counts to one model input of K frames.

    A frame k covers sEMG samples [k*hop, k*hop + window) and its vector is the sEMG features
    (feature-major: all channels of the first feature, then the next feature) followed by the
    audio features of the audio window that ends at the same instant.
    """

    sampling_rate_hz: float = Field(gt=0, description="sEMG rate per channel (device/session)")
    adc_bits: int = Field(ge=2, le=16, description="ADC width; mid-rail = 2**(adc_bits-1)")
    channels: tuple[str, ...] = Field(min_length=1, description="channel names, in order")
    filter: FilterConfig
    window_ms: float = Field(gt=0)
    hop_ms: float = Field(gt=0)
    emg_features: tuple[EmgFeatureName, ...] = Field(min_length=1)
    thresholds: ThresholdConfig
    audio: AudioConfig
    context_frames: int = Field(ge=1, description="K: frames stacked into one model input")
    std_floor: float = Field(gt=0, description="lower bound of a normalisation std")

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def window_samples(self) -> int:
        return _ms_to_samples(self.window_ms, self.sampling_rate_hz, "dsp.window_ms")

    @property
    def hop_samples(self) -> int:
        return _ms_to_samples(self.hop_ms, self.sampling_rate_hz, "dsp.hop_ms")

    @property
    def feature_names(self) -> list[str]:
        """Names of the frame vector's columns, e.g. ``MAV:frontalis``, ``logmel:03``."""
        emg = [f"{f}:{c}" for f in self.emg_features for c in self.channels]
        return emg + (self.audio.feature_names if self.audio.features != "none" else [])

    @property
    def n_emg_features(self) -> int:
        return len(self.emg_features) * self.n_channels

    @property
    def n_features(self) -> int:
        """F: the width of one frame."""
        return self.n_emg_features + self.audio.n_features

    @model_validator(mode="after")
    def _check(self) -> FeatureConfig:
        _ = self.window_samples, self.hop_samples
        if self.window_samples < 3:
            raise ValueError("dsp.window_ms gives fewer than 3 samples; SSC/SKEW need more")
        if len(set(self.emg_features)) != len(self.emg_features):
            raise ValueError(f"dsp.emg_features has duplicates: {list(self.emg_features)}")
        if len(set(self.channels)) != len(self.channels):
            raise ValueError(f"channel names must be unique: {list(self.channels)}")
        return self

    @classmethod
    def from_params(
        cls,
        dsp: Mapping[str, Any],
        *,
        sampling_rate_hz: float,
        adc_bits: int,
        channels: Sequence[str],
        audio_rate_hz: int,
    ) -> FeatureConfig:
        """Build from params.yaml's ``dsp:`` mapping plus the facts of the device/session.

        Raises pydantic.ValidationError naming the offending ``dsp`` field.
        """
        body = dict(dsp)
        audio = dict(body.pop("audio", {}))
        audio["sampling_rate_hz"] = audio_rate_hz
        return cls.model_validate(
            {
                **body,
                "audio": audio,
                "sampling_rate_hz": sampling_rate_hz,
                "adc_bits": adc_bits,
                "channels": tuple(channels),
            }
        )
