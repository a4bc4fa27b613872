"""`robohead-edge replay SESSION --bundle DIR`: the daemon's pipeline on a recorded session.

No device, no broker: the session's sEMG is streamed frame by frame through the same
`Predictor` the daemon uses (the same DSP, normalisation, context and ONNX Runtime call), with
the session's audio replayed on the sEMG clock, and every prediction is written to a CSV. The
host's offline evaluation runs the same Predictor over the whole session at once; the DSP
guarantees both give the same numbers, and a test holds them to 1e-5.

The session format is the one `robohead collect` and `robohead data synth` write (session.json,
emg.csv, audio.wav); it is read here with the standard library and numpy only, because the edge
must not depend on the host package.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from robohead.edge.audio import AudioError, read_wav
from robohead.edge.bundle import Bundle, load_bundle
from robohead.edge.calibration import Calibration, apply_gain
from robohead.edge.predictor import Prediction

__all__ = ["RecordedSession", "ReplayError", "read_session", "replay", "write_predictions"]


class ReplayError(ValueError):
    """The session cannot be read or does not fit the bundle (names the file and field)."""


@dataclass(frozen=True)
class RecordedSession:
    path: Path
    time_us: npt.NDArray[np.int64]
    emg: npt.NDArray[np.int64]  # (n, ch) raw counts
    channels: tuple[str, ...]
    sampling_rate_hz: float
    adc_bits: int
    samples_per_frame: int
    audio: npt.NDArray[np.float32] | None
    audio_rate_hz: int | None
    audio_offset_s: float


def read_session(path: Path) -> RecordedSession:
    """session.json + emg.csv (+ audio.wav) of one session folder."""
    meta_path = path / "session.json"
    try:
        meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReplayError(f"{meta_path}: missing (is {path} a session folder?)") from exc
    except (OSError, ValueError) as exc:
        raise ReplayError(f"{meta_path}: not valid JSON: {exc}") from exc
    try:
        channels = tuple(str(c["name"]) for c in meta["channels"])
        rate = float(meta["sampling_rate_hz"])
        bits = int(meta["adc"]["bits"])
        per_frame = int(meta.get("samples_per_frame") or 10)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReplayError(f"{meta_path}: field {exc} missing or of the wrong type") from exc
    emg_path = path / "emg.csv"
    try:
        with emg_path.open(encoding="utf-8") as fh:
            header = next(csv.reader([fh.readline()]))
            expected = ["device_time_us", "sequence", *channels]
            if header != expected:
                raise ReplayError(f"{emg_path}:1: header {header}, expected {expected}")
            table = np.loadtxt(fh, delimiter=",", dtype=np.int64, ndmin=2)
    except FileNotFoundError as exc:
        raise ReplayError(f"{emg_path}: missing") from exc
    except ValueError as exc:
        raise ReplayError(f"{emg_path}: not integer CSV: {exc}") from exc
    if table.shape[0] and table.shape[1] != len(expected):
        raise ReplayError(f"{emg_path}: {table.shape[1]} columns, expected {len(expected)}")
    audio = audio_rate = None
    offset = 0.0
    if meta.get("audio"):
        info = meta["audio"]
        wav = path / str(info.get("file", "audio.wav"))
        try:
            audio, audio_rate = read_wav(wav)
        except AudioError as exc:
            raise ReplayError(str(exc)) from exc
        offset = float(info.get("offset_s", 0.0))
    return RecordedSession(
        path=path,
        time_us=table[:, 0] if table.size else np.zeros(0, np.int64),
        emg=table[:, 2:] if table.size else np.zeros((0, len(channels)), np.int64),
        channels=channels,
        sampling_rate_hz=rate,
        adc_bits=bits,
        samples_per_frame=max(1, per_frame),
        audio=audio,
        audio_rate_hz=audio_rate,
        audio_offset_s=offset,
    )


def _check_fit(session: RecordedSession, bundle: Bundle) -> None:
    f = bundle.manifest.features
    if tuple(f.channels) != session.channels:
        raise ReplayError(
            f"{session.path}: channels {list(session.channels)}, the bundle expects "
            f"{list(f.channels)}"
        )
    if float(f.sampling_rate_hz) != session.sampling_rate_hz:
        raise ReplayError(
            f"{session.path}: {session.sampling_rate_hz} Hz, the bundle expects "
            f"{f.sampling_rate_hz} Hz"
        )
    needs_audio = f.audio.features != "none"
    if (
        needs_audio
        and session.audio is not None
        and session.audio_rate_hz != f.audio.sampling_rate_hz
    ):
        raise ReplayError(
            f"{session.path}: audio at {session.audio_rate_hz} Hz, the bundle expects "
            f"{f.audio.sampling_rate_hz} Hz"
        )


def _frames(session: RecordedSession) -> Iterator[tuple[int, int]]:
    n, step = session.emg.shape[0], session.samples_per_frame
    for start in range(0, n, step):
        yield start, min(start + step, n)


def replay(
    session: RecordedSession,
    bundle: Bundle,
    *,
    calibration: Calibration | None = None,
) -> Prediction:
    """Stream the session through a fresh Predictor, frame by frame, as the daemon does."""
    _check_fit(session, bundle)
    f = bundle.manifest.features
    needs_audio = f.audio.features != "none"
    audio = session.audio if needs_audio else None
    if needs_audio and audio is None:  # no recorded audio: silence, as the offline path assumes
        seconds = session.emg.shape[0] / session.sampling_rate_hz
        audio = np.zeros(int(np.ceil(seconds * f.audio.sampling_rate_hz)) + 1, np.float32)
    predictor = bundle.predictor(audio_offset_s=session.audio_offset_s if audio is not None else 0)
    gain = None if calibration is None else np.asarray(calibration.gain, np.float64)
    parts: list[Prediction] = []
    delivered = 0
    for start, end in _frames(session):
        chunk: npt.NDArray[Any] = session.emg[start:end]
        if gain is not None:
            chunk = apply_gain(chunk, gain, session.adc_bits)
        audio_chunk = None
        if audio is not None:
            seconds = end / session.sampling_rate_hz - session.audio_offset_s
            upto = round(seconds * f.audio.sampling_rate_hz)
            upto = min(max(upto, delivered), audio.shape[0])
            audio_chunk, delivered = audio[delivered:upto], upto
        parts.append(predictor.process(chunk, audio_chunk))
    if audio is not None and delivered < audio.shape[0]:
        parts.append(predictor.process(np.zeros((0, len(session.channels))), audio[delivered:]))
    parts.append(predictor.finish())
    expression = [p.expression for p in parts if p.expression is not None]
    return Prediction(
        np.concatenate([p.end_sample for p in parts]),
        np.concatenate([p.motors for p in parts]),
        np.concatenate(expression) if expression else None,
    )


def write_predictions(
    path: Path, session: RecordedSession, bundle: Bundle, prediction: Prediction
) -> None:
    """CSV: end_sample, device_time_us (last sample of the window), one column per motor,
    then expression and one probability column per expression when the model has that head."""
    m = bundle.manifest
    spec = bundle.predictor().expr_spec
    labels = list(spec.labels) if spec is not None and prediction.expression is not None else []
    header = ["end_sample", "device_time_us", *m.motors]
    if labels:
        header += ["expression", *[f"p_{name}" for name in labels]]
    times = session.time_us
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for i, end in enumerate(prediction.end_sample):
            last = int(end) - 1
            row: list[Any] = [int(end), int(times[last]) if 0 <= last < times.shape[0] else ""]
            row += [f"{float(v):.9g}" for v in prediction.motors[i]]
            if labels and prediction.expression is not None:
                probs = prediction.expression[i]
                row.append(labels[int(np.argmax(probs))])
                row += [f"{float(v):.9g}" for v in probs]
            writer.writerow(row)


def replay_to_csv(
    session_dir: Path, bundle_dir: Path, out: Path, *, calibration: Calibration | None = None
) -> int:
    """The CLI's work: returns the number of predictions written."""
    session = read_session(session_dir)
    bundle = load_bundle(bundle_dir)
    prediction = replay(session, bundle, calibration=calibration)
    write_predictions(out, session, bundle, prediction)
    return len(prediction)
