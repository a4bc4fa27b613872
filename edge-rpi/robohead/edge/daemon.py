"""`robohead-edge run`: one process, one loop, one direction of flow.

    sources (serial Link: Hello, EmgFrame, DeviceStatus; audio)  ->  DSP  ->  model
        ->  post-processing (mode, One-Euro, deadband, rate limits)
        ->  sinks (MotorCommand at 50 Hz on the Link; MQTT telemetry, metrics, events)

Everything runs on the main thread except the I/O threads owned by the Link and paho and a
short-lived bundle loader, which hand their results over through queues; so the model, the
post-processor and the mode are only ever touched by one thread and a hot reload is a single
assignment between two frames.

Safety rules:
- no MotorCommand before a Hello whose schema hash equals ours; on a mismatch the daemon says
  which hashes differ (log, status, event) and sends none until a matching Hello arrives;
- no model (none loaded, or the device's channels/rate do not fit it): no commands in auto mode,
  so the firmware's own timeout holds the servos at neutral;
- a bundle that fails any check is rejected with its reason and the running model stays;
- SIGTERM: a neutral MotorCommand, status OFFLINE, clean exit.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from robohead.edge import __version__
from robohead.edge.audio import AudioError, AudioSource, open_source
from robohead.edge.bundle import MANIFEST_NAME, Bundle, BundleError, load_bundle
from robohead.edge.calibration import (
    Calibration,
    CalibrationError,
    Recorder,
    apply_gain,
    channel_rms,
    compute_calibration,
    load_calibration,
    save_calibration,
)
from robohead.edge.commands import CommandError, parse_command, reply
from robohead.edge.config import EdgeConfig
from robohead.edge.metrics import RateMeter, StageLatencies
from robohead.edge.modes import ModeController, mode_from_name, neutral_from_hello
from robohead.edge.mqtt_client import EdgeMqtt
from robohead.edge.postprocess import PostProcessor
from robohead.edge.predictor import Predictor
from robohead.edge.sdnotify import FrameWatchdog, Notifier
from robohead.protocol.link import Link
from robohead.protocol.messages import emg_samples
from robohead.protocol.schema import SCHEMA_HASH, format_schema_hash
from robohead.protocol.v1 import device_pb2 as dev
from robohead.protocol.v1 import telemetry_pb2 as tm

__all__ = ["Daemon", "DaemonState"]

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
STAGES = ("dsp", "inference", "postprocess", "total", "loop")
_HISTORY_S = 2.0  # raw samples kept to warm up a hot-swapped model and for levels
_FRAME_MAP = 512  # frames remembered to map sample indices back to device time


class _TimedModel:
    """Wraps the Predictor's ONNX model to time inference separately from the DSP."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.elapsed_s = 0.0

    def run(self, inputs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._model.run(inputs)
        finally:
            self.elapsed_s += time.perf_counter() - start

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


@dataclass
class _Model:
    """A loaded bundle with its own streaming predictor, started at a global sample index."""

    bundle: Bundle
    predictor: Predictor
    timed: _TimedModel
    start_sample: int
    bundle_sha256: str
    signature: tuple[Any, ...]


@dataclass
class _LoadResult:
    reason: str  # "start", "reload", "sighup", "watch"
    bundle: Bundle | None
    error: BundleError | None
    signature: tuple[Any, ...]
    request: tuple[str, str] | None  # (command name, request id) to reply to


@dataclass
class DaemonState:
    """What the loop knows; read by tests and telemetry (main thread only)."""

    hello: dev.Hello | None = None
    schema_ok: bool = False
    schema_error: str = ""
    model_error: str = ""
    last_status: dev.DeviceStatus | None = None
    predicted: FloatArray | None = None
    predicted_window_end_us: int = 0
    predicted_at: float = 0.0  # perf_counter when its frame arrived
    expression: str = ""
    expression_confidence: float = 0.0
    commanded: FloatArray | None = None
    frames: int = 0
    samples: int = 0  # sEMG samples since the last Hello (the stream's sample index)
    stream_start_us: int | None = None  # device time of the stream's sample 0
    commands_sent: int = 0
    commands_rejected: int = 0
    bundles_rejected: int = 0
    bundles_loaded: int = 0
    first_command_s: float | None = None
    loop_errors: int = 0
    emg_level: list[float] = field(default_factory=list)
    audio_level_dbfs: float = 0.0
    timings: tm.StageTimings = field(default_factory=tm.StageTimings)


def _signature(path: Path) -> tuple[Any, ...]:
    """Changes whenever a file of the bundle is replaced, rewritten or the directory swapped."""
    try:
        st = path.stat()
        entries = sorted(
            (p.name, p.stat().st_mtime_ns, p.stat().st_size, p.stat().st_ino)
            for p in path.iterdir()
        )
    except OSError:
        return ()
    return (st.st_ino, tuple(entries))


class Daemon:
    """The edge daemon; `run()` blocks until `request_stop()` (e.g. from SIGTERM)."""

    def __init__(self, config: EdgeConfig, *, notifier: Notifier | None = None) -> None:
        self.config = config
        self.device_id = config.resolved_device_id
        self.state = DaemonState()
        self.notifier = notifier or Notifier()
        self.watchdog = FrameWatchdog(self.notifier)
        self.link = (
            Link(config.serial.url, baudrate=config.serial.baudrate)
            if config.serial.baudrate
            else Link(config.serial.url)
        )
        self.mqtt: EdgeMqtt | None = (
            EdgeMqtt(config.mqtt, self.device_id) if config.mqtt.enabled else None
        )
        self.model: _Model | None = None
        # placeholder pose: replaced by the bundle's pose table and the Hello's neutral pulse
        # widths before any command can be sent (nothing is sent before a Hello)
        self.modes = ModeController(3, [0.5] * 3, mode_from_name(config.motors.initial_mode))
        self.post: PostProcessor | None = None
        self.calibration: Calibration | None = None
        self.gain: FloatArray | None = None
        self.audio: AudioSource | None = None
        self.raw_stream = config.mqtt.raw_emg
        self.latency = StageLatencies(STAGES)
        self.fps = RateMeter()
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._loads: queue.Queue[_LoadResult] = queue.Queue()
        self._loading = False
        self._pending_replies: list[tuple[str, str]] = []
        self._history: deque[npt.NDArray[np.float64]] = deque()
        self._history_len = 0
        self._frame_map: deque[tuple[int, int, int]] = deque(maxlen=_FRAME_MAP)
        self._opens_seen = 0
        self._hello_asked = 0.0
        self._ping_nonce = 0
        self._motor_seq = 0
        self._status_key: tuple[int, str] | None = None
        self._calib_phase: tuple[int, Recorder] | None = None
        self._calib_levels: dict[int, FloatArray] = {}
        self._started = time.monotonic()
        self._watch_signature: tuple[Any, ...] | None = None
        self._watch_candidate: tuple[Any, ...] | None = None
        self._last_model_signature: tuple[Any, ...] = ()
        self._audio_rate = 0

    # --- control (thread- and signal-safe) -----------------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        self._reload.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # --- main loop -------------------------------------------------------------------------------

    def run(self) -> int:
        """Run until stopped; returns the process exit code."""
        cfg = self.config
        self._started = time.monotonic()
        if self.mqtt is not None:
            self.mqtt.start()
        self._load_calibration()
        self._start_load("start", None, background=False)
        self._drain_loads()
        self.link.open()
        self._set_status()
        self.notifier.ready(f"waiting for the device on {cfg.serial.url}")
        period = 1.0 / cfg.motors.command_rate_hz
        telemetry_period = (
            1.0 / cfg.mqtt.telemetry_rate_hz if cfg.mqtt.telemetry_rate_hz > 0 else None
        )
        now = time.monotonic()
        next_tick, next_telemetry, next_metrics = (
            now + period,
            now,
            now + cfg.mqtt.metrics_interval_s,
        )
        next_watch = now + cfg.bundle.watch_interval_s if cfg.bundle.watch_interval_s else None
        try:
            while not self._stop.is_set():
                wait = max(0.0, min(next_tick - time.monotonic(), period))
                msg = self.link.receive(timeout=wait)
                if msg is not None:
                    self._safely("handling a device message", self._on_device, msg)
                    while self.link.pending and not self._stop.is_set():
                        more = self.link.receive(timeout=0)
                        if more is None:
                            break
                        self._safely("handling a device message", self._on_device, more)
                now = time.monotonic()
                self._safely("checking the link", self._check_link, now)
                if now >= next_tick:
                    self._safely("the motor tick", self._tick, now)
                    next_tick += period
                    if next_tick < now:  # fell behind (e.g. a slow load): do not burst
                        next_tick = now + period
                if telemetry_period is not None and now >= next_telemetry:
                    self._safely("publishing telemetry", self._publish_telemetry)
                    next_telemetry = now + telemetry_period
                if now >= next_metrics:
                    self._safely("publishing metrics", self._publish_metrics)
                    next_metrics = now + cfg.mqtt.metrics_interval_s
                if next_watch is not None and now >= next_watch:
                    self._safely("watching the bundle", self._watch_bundle)
                    next_watch = now + cfg.bundle.watch_interval_s
                if self._reload.is_set():
                    self._reload.clear()
                    self._start_load("sighup", None)
                self._safely("executing commands", self._drain_commands)
                self._safely("installing a bundle", self._drain_loads)
                self.watchdog.tick()
        finally:
            self._shutdown()
        return 0

    def _safely(self, what: str, fn: Any, *args: Any) -> None:
        """Run one step of the loop; a bug in it is logged, never the end of the motors."""
        try:
            fn(*args)
        except Exception:
            self.state.loop_errors += 1
            n = self.state.loop_errors
            if n <= 10 or n % 1000 == 0:
                log.exception("%s failed (loop error %d); carrying on", what, n)

    def _shutdown(self) -> None:
        self.notifier.stopping("stopping: motors to neutral")
        if self.state.schema_ok and self.link.connected:
            self._send_motor(self.modes.neutral, dev.MOTOR_FLAG_NEUTRAL, 0)
            self.link.flush(1.0)
        if self.mqtt is not None:
            self.mqtt.stop("stopped")
        self.link.close()
        if self.audio is not None:
            self.audio.close()
        log.info("stopped")

    # --- the device ------------------------------------------------------------------------------

    def _check_link(self, now: float) -> None:
        """A new connection (first open, replug, simulator restart) restarts the handshake."""
        opens = self.link.counters.opens
        if opens != self._opens_seen:
            if self._opens_seen:
                log.info("serial link reconnected on %s", self.config.serial.url)
                self._event(tm.Event.LEVEL_INFO, "link_reconnected", "serial link reconnected")
            self._opens_seen = opens
            self.state.hello = None
            self.state.schema_ok = False
            self._hello_asked = 0.0
            self._set_status()
        if (
            self.link.connected
            and self.state.hello is None
            and now - self._hello_asked >= self.config.serial.hello_timeout_s
        ):
            self._ping(request_hello=True)
            self._hello_asked = now

    def _ping(self, *, request_hello: bool) -> None:
        self._ping_nonce = (self._ping_nonce + 1) & 0xFFFFFFFF
        ping = dev.Ping(
            nonce=self._ping_nonce,
            schema_hash=SCHEMA_HASH,
            request_hello=request_hello,
            edge_time_us=time.monotonic_ns() // 1000,
        )
        self.link.send_host(dev.HostMessage(ping=ping))

    def _on_device(self, msg: dev.DeviceMessage) -> None:
        kind = msg.WhichOneof("payload")
        if kind == "emg":
            self._on_emg(msg.emg)
        elif kind == "hello":
            self._on_hello(msg.hello)
        elif kind == "status":
            self.state.last_status = msg.status
        elif kind == "error":
            self._on_device_error(msg.error)

    def _on_hello(self, hello: dev.Hello) -> None:
        st = self.state
        first = st.hello is None
        st.hello = hello
        if hello.schema_hash != SCHEMA_HASH:
            st.schema_ok = False
            st.schema_error = (
                f"schema mismatch: device {hello.device_id or '?'} speaks "
                f"{format_schema_hash(hello.schema_hash)}, this edge "
                f"{format_schema_hash(SCHEMA_HASH)}; flash matching firmware or install the "
                "matching robohead-edge. No motor commands are sent."
            )
            log.error(st.schema_error)
            self._event(
                tm.Event.LEVEL_ERROR,
                "schema_mismatch",
                st.schema_error,
                device_hash=format_schema_hash(hello.schema_hash),
                edge_hash=format_schema_hash(SCHEMA_HASH),
            )
        else:
            if not st.schema_ok and first:
                log.info(
                    "device %s: firmware %s, %d channels at %d Hz, schema %s",
                    hello.device_id,
                    hello.firmware_version,
                    hello.channel_count,
                    hello.sampling_rate_hz,
                    format_schema_hash(hello.schema_hash),
                )
            st.schema_ok = True
            st.schema_error = ""
        self._ping(request_hello=False)  # tell the device our hash (it checks it too)
        self._new_stream()
        self._configure_for_device()
        self._publish_meta()
        self._set_status()

    def _on_device_error(self, error: dev.Error) -> None:
        text = f"device error {dev.ErrorCode.Name(error.code)}: {error.detail}"
        if error.code == dev.ERROR_CODE_SCHEMA_MISMATCH:
            text += (
                f" (device {format_schema_hash(error.expected_schema_hash)}, "
                f"edge {format_schema_hash(error.received_schema_hash)})"
            )
        log.error(text)
        self._event(tm.Event.LEVEL_ERROR, "device_error", text)

    def _new_stream(self) -> None:
        """The device (re)started its sample stream: every stream-relative state restarts."""
        st = self.state
        st.samples = 0
        st.stream_start_us = None
        st.predicted = None
        self._history.clear()
        self._history_len = 0
        self._frame_map.clear()
        if self.audio is not None:
            self.audio.rewind()
        if self.model is not None:
            self.model = self._fresh_model(self.model.bundle, self.model.bundle_sha256, warm=False)

    def _configure_for_device(self) -> None:
        """Check the running model against the device and set the neutral pose from its Hello."""
        st = self.state
        if st.hello is None:
            return
        if st.hello.servos:
            self._ensure_motors(len(st.hello.servos), None)
        neutral = neutral_from_hello(st.hello, self.modes.motors)
        if neutral is not None:
            self.modes.set_neutral(list(neutral))
        st.model_error = ""
        if self.model is not None:
            problem = self._device_mismatch(self.model.bundle)
            if problem:
                st.model_error = problem
                log.error(problem)
                self._event(tm.Event.LEVEL_ERROR, "model_device_mismatch", problem)

    def _device_mismatch(self, bundle: Bundle) -> str:
        hello = self.state.hello
        if hello is None:
            return ""
        f = bundle.manifest.features
        if hello.channel_count and hello.channel_count != f.n_channels:
            return (
                f"the bundle expects {f.n_channels} channels {list(f.channels)}, the device "
                f"sends {hello.channel_count}; the model is not used"
            )
        if hello.sampling_rate_hz and float(hello.sampling_rate_hz) != float(f.sampling_rate_hz):
            return (
                f"the bundle expects {f.sampling_rate_hz} Hz, the device samples at "
                f"{hello.sampling_rate_hz} Hz; the model is not used"
            )
        return ""

    def _on_emg(self, frame: dev.EmgFrame) -> None:
        st = self.state
        received = time.perf_counter()
        self.watchdog.frame()
        self.fps.tick()
        st.frames += 1
        if st.hello is None:
            return  # the handshake comes first; frames before it cannot be interpreted
        try:
            counts = emg_samples(frame)
        except ValueError as exc:
            log.warning("bad EmgFrame %d: %s", frame.sequence, exc)
            return
        if self.raw_stream and self.mqtt is not None:
            self.mqtt.raw_emg(
                tm.RawEmgChunk(
                    device_id=self.device_id,
                    sequence=frame.sequence,
                    device_time_us=frame.device_time_us,
                    channel_count=frame.channel_count,
                    sampling_rate_hz=st.hello.sampling_rate_hz,
                    samples=frame.samples,
                )
            )
        n = counts.shape[0]
        if n == 0:
            return
        start = st.samples
        if start == 0:
            st.stream_start_us = frame.device_time_us
        self._frame_map.append((start, n, frame.device_time_us))
        st.samples += n
        if self._calib_phase is not None:
            self._calib_record(counts)
        x = counts.astype(np.float64)
        if self.gain is not None and self.gain.shape[0] == x.shape[1]:
            assert self.calibration is not None
            x = apply_gain(x, self.gain, self.calibration.adc_bits)
        self._remember(x)
        model = self.model
        if model is None or st.model_error:
            return
        audio = None
        if self.audio is not None:
            audio = self.audio.read(st.samples / float(st.hello.sampling_rate_hz))
            if audio.size:
                st.audio_level_dbfs = float(
                    20 * np.log10(max(float(np.sqrt(np.mean(audio * audio))), 1e-6))
                )
        model.timed.elapsed_s = 0.0
        t0 = time.perf_counter()
        try:
            pred = model.predictor.process(x, audio)
        except Exception as exc:  # a model that fails at run time must not kill the loop
            st.model_error = f"the model failed on live data: {exc}"
            log.exception("prediction failed")
            self._event(tm.Event.LEVEL_ERROR, "model_failed", st.model_error)
            self._set_status()
            return
        elapsed = time.perf_counter() - t0
        if len(pred) == 0:
            return
        inference = model.timed.elapsed_s
        st.timings.dsp_ms = (elapsed - inference) * 1e3
        st.timings.inference_ms = inference * 1e3
        self.latency.add("dsp", st.timings.dsp_ms)
        self.latency.add("inference", st.timings.inference_ms)
        st.predicted = pred.motors[-1].astype(np.float64)
        st.predicted_at = received
        end = int(pred.end_sample[-1]) + model.start_sample
        st.predicted_window_end_us = self._device_time(end - 1)
        if pred.expression is not None and model.predictor.expr_spec is not None:
            probs = pred.expression[-1]
            top = int(np.argmax(probs))
            st.expression = model.predictor.expr_spec.labels[top]
            st.expression_confidence = float(probs[top])

    def _device_time(self, sample: int) -> int:
        """Device time (us) of a stream sample index, from the frame that carried it."""
        hello = self.state.hello
        rate = float(hello.sampling_rate_hz) if hello and hello.sampling_rate_hz else 1000.0
        for start, n, t_us in reversed(self._frame_map):
            if start <= sample < start + n:
                return int(t_us + round((sample - start) * 1e6 / rate))
        if self._frame_map:
            start, _, t_us = self._frame_map[0]
            return int(t_us + round((sample - start) * 1e6 / rate))
        return 0

    def _remember(self, x: FloatArray) -> None:
        """Keep the last seconds of (calibrated) samples for warm-up and levels."""
        hello = self.state.hello
        rate = float(hello.sampling_rate_hz) if hello and hello.sampling_rate_hz else 1000.0
        self._history.append(x)
        self._history_len += x.shape[0]
        limit = int(_HISTORY_S * rate)
        while self._history and self._history_len - self._history[0].shape[0] >= limit:
            self._history_len -= self._history.popleft().shape[0]

    def _history_array(self) -> FloatArray | None:
        return np.concatenate(list(self._history)) if self._history else None

    # --- motor commands --------------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        st = self.state
        if not (self.link.connected and st.hello is not None and st.schema_ok):
            return
        usable = self.model is not None and not st.model_error
        target = self.modes.target(st.predicted if usable else None)
        if target is None or self.post is None:
            return
        t0 = time.perf_counter()
        commanded = self.post(target.targets, now, smooth=target.smooth)
        st.timings.postprocess_ms = (time.perf_counter() - t0) * 1e3
        self.latency.add("postprocess", st.timings.postprocess_ms)
        st.commanded = commanded
        from_model = self.modes.mode == tm.MODE_AUTO
        window_end = st.predicted_window_end_us if from_model else 0
        if self._send_motor(commanded, target.flags, window_end) and from_model:
            loop_ms = (time.perf_counter() - st.predicted_at) * 1e3
            st.timings.total_ms = st.timings.dsp_ms + st.timings.inference_ms
            st.timings.total_ms += st.timings.postprocess_ms
            self.latency.add("total", st.timings.total_ms)
            self.latency.add("loop", loop_ms)

    def _send_motor(self, targets: FloatArray, flags: int, window_end_us: int) -> bool:
        self._motor_seq = (self._motor_seq + 1) & 0xFFFFFFFF
        cmd = dev.MotorCommand(
            sequence=self._motor_seq,
            targets=[float(v) for v in targets],
            flags=flags,
            window_end_device_time_us=window_end_us,
        )
        ok = self.link.send_host(dev.HostMessage(motor=cmd))
        if ok:
            self.state.commands_sent += 1
            if self.state.first_command_s is None:
                self.state.first_command_s = time.monotonic() - self._started
                log.info("first MotorCommand %.3f s after start", self.state.first_command_s)
                self._set_status()
        return ok

    # --- bundles ---------------------------------------------------------------------------------

    def _start_load(
        self, reason: str, request: tuple[str, str] | None, *, background: bool = True
    ) -> None:
        if request is not None:
            self._pending_replies.append(request)
        if self._loading:
            return
        self._loading = True
        path = self.config.bundle.dir
        hello = self.state.hello

        def work() -> None:
            signature = _signature(path)
            try:
                bundle = load_bundle(
                    path,
                    expected_channels=hello.channel_count
                    if hello and hello.channel_count
                    else None,
                    expected_sampling_rate_hz=(
                        float(hello.sampling_rate_hz) if hello and hello.sampling_rate_hz else None
                    ),
                )
                self._loads.put(_LoadResult(reason, bundle, None, signature, None))
            except BundleError as exc:
                self._loads.put(_LoadResult(reason, None, exc, signature, None))
            except Exception as exc:  # never let a loader bug take the daemon down
                err = BundleError("model", f"{path}: unexpected error while loading: {exc}")
                self._loads.put(_LoadResult(reason, None, err, signature, None))

        if background:
            threading.Thread(target=work, name="robohead-bundle-loader", daemon=True).start()
        else:
            work()

    def _drain_loads(self) -> None:
        while True:
            try:
                result = self._loads.get_nowait()
            except queue.Empty:
                return
            self._loading = False
            self._apply_load(result)
            replies, self._pending_replies = self._pending_replies, []
            for name, request_id in replies:
                if self.mqtt is None:
                    continue
                if result.error is None:
                    detail = f"loaded {self.config.bundle.dir}"
                    self.mqtt.reply(name, reply(request_id, ok=True, detail=detail))
                else:
                    self.mqtt.reply(name, reply(request_id, ok=False, error=result.error.reason))

    def _apply_load(self, result: _LoadResult) -> None:
        st = self.state
        self._last_model_signature = result.signature
        self._watch_signature = result.signature
        if result.error is not None or result.bundle is None:
            st.bundles_rejected += 1
            reason = result.error.reason if result.error else "unknown"
            code = result.error.code if result.error else "model"
            keeping = "keeping the running model" if self.model else "no model is running"
            log.error(
                "bundle %s rejected (%s): %s; %s", self.config.bundle.dir, code, reason, keeping
            )
            self._event(
                tm.Event.LEVEL_ERROR,
                "bundle_rejected",
                f"{reason}; {keeping}",
                code=str(code),
                trigger=result.reason,
            )
            self._set_status()
            return
        bundle = result.bundle
        problem = self._device_mismatch(bundle)
        if problem and self.model is not None:
            st.bundles_rejected += 1
            log.error("bundle rejected: %s; keeping the running model", problem)
            self._event(tm.Event.LEVEL_ERROR, "bundle_rejected", problem, code="device")
            return
        digest = hashlib.sha256((bundle.path / MANIFEST_NAME).read_bytes()).hexdigest()
        self._install(bundle, digest)
        st.model_error = problem
        st.bundles_loaded += 1
        m = bundle.manifest
        log.info(
            "model loaded (%s): %s version %s, run %s",
            result.reason,
            m.mlflow.model_name,
            m.mlflow.model_version,
            m.mlflow.run_id,
        )
        self._event(
            tm.Event.LEVEL_INFO,
            "bundle_loaded",
            f"model {m.mlflow.model_name or '?'} v{m.mlflow.model_version or '?'} loaded",
            trigger=result.reason,
            bundle_sha256=digest,
        )
        self._publish_meta()
        self._set_status()

    def _ensure_motors(self, motors: int, neutral: list[float] | None) -> None:
        """A post-processor and mode controller for `motors` motors (from the bundle or Hello)."""
        cfg = self.config.postprocess
        if self.post is None or self.post.motors != motors:
            rates = list(cfg.max_rate_per_s)
            if len(rates) != motors:
                log.warning(
                    "postprocess.max_rate_per_s has %d values for %d motors; using %s for all",
                    len(rates),
                    motors,
                    min(rates),
                )
                rates = [min(rates)] * motors
            self.post = PostProcessor(
                motors=motors,
                min_cutoff_hz=cfg.min_cutoff_hz,
                beta=cfg.beta,
                d_cutoff_hz=cfg.d_cutoff_hz,
                deadband=cfg.deadband,
                max_rate_per_s=rates,
            )
        if self.modes.motors != motors:
            self.modes = ModeController(motors, neutral or [0.5] * motors, self.modes.mode)
            if self.model is not None and len(self.model.bundle.manifest.motors) == motors:
                self.modes.set_poses(self.model.bundle.manifest.poses)

    def _install(self, bundle: Bundle, digest: str) -> None:
        """Swap the model in (one assignment), with post-processing and audio to match."""
        m = bundle.manifest
        neutral = m.poses.get("neutral")
        self._ensure_motors(len(m.motors), list(neutral) if neutral else None)
        if neutral and self.state.hello is None:
            self.modes.set_neutral(list(neutral))  # until the firmware's own neutral is known
        self.modes.set_poses(m.poses)
        needs_audio = m.features.audio.features != "none"
        rate = m.features.audio.sampling_rate_hz if needs_audio else 0
        if needs_audio and (self.audio is None or self._audio_rate != rate):
            if self.audio is not None:
                self.audio.close()
            try:
                self.audio = open_source(self.config.audio, rate)
                self.audio.start()
            except AudioError as exc:
                log.error("%s; the model hears silence", exc)
                self._event(tm.Event.LEVEL_ERROR, "audio_failed", str(exc))
                from robohead.edge.audio import SilenceSource

                self.audio = SilenceSource(rate, self.config.audio.offset_s)
            self._audio_rate = rate
        self.model = self._fresh_model(bundle, digest, warm=not needs_audio)

    def _fresh_model(self, bundle: Bundle, digest: str, *, warm: bool) -> _Model:
        """A new predictor from the current stream position (warmed with recent samples)."""
        st = self.state
        history = self._history_array() if warm else None
        start = st.samples - (history.shape[0] if history is not None else 0)
        offset = 0.0
        if self.audio is not None:
            emg_rate = float(bundle.manifest.features.sampling_rate_hz)
            offset = (
                self.audio.offset_s
                + self.audio.position / float(self.audio.rate_hz)
                - start / emg_rate
            )
        predictor = bundle.predictor(audio_offset_s=offset)
        timed = _TimedModel(predictor.model)
        predictor.model = timed  # type: ignore[assignment]
        if history is not None and history.shape[0]:
            with contextlib.suppress(Exception):
                predictor.process(history)
        return _Model(bundle, predictor, timed, start, digest, _signature(bundle.path))

    def _watch_bundle(self) -> None:
        """Reload when the bundle directory changed and then stayed unchanged for one poll."""
        signature = _signature(self.config.bundle.dir)
        if signature == self._watch_signature or not signature:
            self._watch_candidate = None
            return
        if signature != self._watch_candidate:
            self._watch_candidate = signature  # still being written? look again next poll
            return
        self._watch_candidate = None
        self._watch_signature = signature
        log.info("bundle %s changed; reloading", self.config.bundle.dir)
        self._start_load("watch", None)

    # --- calibration -----------------------------------------------------------------------------

    def _load_calibration(self) -> None:
        if not self.config.calibration.apply:
            return
        try:
            cal = load_calibration(self.config.calibration_path)
        except CalibrationError as exc:
            log.error("%s; running uncalibrated", exc)
            self._event(tm.Event.LEVEL_ERROR, "calibration_invalid", str(exc))
            return
        self._use_calibration(cal)

    def _use_calibration(self, cal: Calibration | None) -> None:
        self.calibration = cal
        self.gain = None if cal is None else np.asarray(cal.gain, dtype=np.float64)
        if cal is not None:
            log.info("calibration applied: gains %s", [round(g, 3) for g in cal.gain])

    def _calib_start(self, phase: int, duration_s: float) -> str:
        hello = self.state.hello
        if hello is None or not hello.sampling_rate_hz or not hello.channel_count:
            raise CommandError("no device connected; calibration needs the sEMG stream")
        if duration_s <= 0:
            duration_s = (
                self.config.calibration.rest_s
                if phase == tm.CALIBRATION_PHASE_REST
                else self.config.calibration.max_s
            )
        n = int(duration_s * hello.sampling_rate_hz)
        self._calib_phase = (phase, Recorder(n, hello.channel_count))
        name = tm.CalibrationPhase.Name(phase)
        return f"recording {name} for {duration_s:g} s"

    def _calib_record(self, counts: npt.NDArray[np.int16]) -> None:
        assert self._calib_phase is not None
        phase, recorder = self._calib_phase
        recorder.add(counts)
        if not recorder.done:
            return
        self._calib_phase = None
        hello = self.state.hello
        assert hello is not None
        filt = self.model.bundle.manifest.features.filter if self.model else None
        levels = channel_rms(
            recorder.samples,
            adc_bits=hello.adc_bits or 12,
            sampling_rate_hz=float(hello.sampling_rate_hz),
            filt=filt,
        )
        self._calib_levels[phase] = levels
        name = tm.CalibrationPhase.Name(phase)
        self._event(
            tm.Event.LEVEL_INFO,
            "calibration_phase_done",
            f"{name} recorded",
            rms=",".join(f"{v:.5f}" for v in levels),
        )

    def _calib_stop(self, save: bool) -> str:
        self._calib_phase = None
        if not save:
            self._calib_levels.clear()
            return "calibration discarded"
        rest = self._calib_levels.get(tm.CALIBRATION_PHASE_REST)
        peak = self._calib_levels.get(tm.CALIBRATION_PHASE_MAX)
        if rest is None or peak is None:
            raise CommandError(
                "stop_calibration.save needs both phases recorded first "
                "(start_calibration with CALIBRATION_PHASE_REST, then CALIBRATION_PHASE_MAX)"
            )
        hello = self.state.hello
        channels = (
            list(self.model.bundle.manifest.features.channels)
            if self.model
            else [f"ch{i}" for i in range(rest.shape[0])]
        )
        try:
            previous = load_calibration(self.config.calibration_path)
        except CalibrationError:
            previous = None
        try:
            cal = compute_calibration(
                channels,
                list(rest),
                list(peak),
                adc_bits=(hello.adc_bits if hello and hello.adc_bits else 12),
                previous=previous,
            )
        except CalibrationError as exc:
            raise CommandError(str(exc)) from exc
        try:
            save_calibration(self.config.calibration_path, cal)
        except OSError as exc:  # read-only or missing state dir: refuse, keep running
            raise CommandError(f"cannot save {self.config.calibration_path}: {exc}") from exc
        self._calib_levels.clear()
        if self.config.calibration.apply:
            self._use_calibration(cal)
        self._event(
            tm.Event.LEVEL_INFO,
            "calibrated",
            f"calibration saved to {self.config.calibration_path}",
            gains=",".join(f"{g:.3f}" for g in cal.gain),
        )
        return f"saved {self.config.calibration_path}"

    # --- MQTT commands ---------------------------------------------------------------------------

    def _drain_commands(self) -> None:
        if self.mqtt is None:
            return
        for _ in range(16):  # bounded work per loop pass
            try:
                inbound = self.mqtt.commands.get_nowait()
            except queue.Empty:
                return
            self._handle_command(inbound.name, inbound.payload, inbound.retained)

    def _handle_command(self, name: str, payload: bytes, retained: bool) -> None:
        assert self.mqtt is not None
        expressions = list(self.modes.poses)
        request_id = ""
        try:
            command = parse_command(
                name, payload, motors=self.modes.motors, expressions=expressions, retained=retained
            )
            request_id = command.request_id
            detail = self._execute(name, command)
        except CommandError as exc:
            self.state.commands_rejected += 1
            rid = exc.request_id or request_id
            log.warning("command cmd/%s refused: %s", name, exc)
            self.mqtt.reply(name, reply(rid, ok=False, error=str(exc)))
            return
        except Exception as exc:  # a bug must cost one command, not the daemon
            self.state.commands_rejected += 1
            log.exception("command cmd/%s failed", name)
            self.mqtt.reply(name, reply(request_id, ok=False, error=f"internal error: {exc}"))
            return
        if detail is not None:
            self.mqtt.reply(name, reply(request_id, ok=True, detail=detail))

    def _execute(self, name: str, command: tm.Command) -> str | None:
        """Run a validated command; the detail for the reply, or None when it replies later."""
        if name == "set_mode":
            self.modes.set_mode(command.set_mode.mode)
            if self.post is not None and self.state.commanded is not None:
                self.post.reset(self.state.commanded, time.monotonic())
            self._publish_meta()
            self._set_status()
            return f"mode {tm.Mode.Name(command.set_mode.mode)}"
        if name == "set_pose":
            pose = command.set_pose
            self.modes.set_pose(list(pose.targets) or None, pose.expression)
            return f"pose {[round(v, 3) for v in self.modes.pose]}"
        if name == "reload_model":
            self._start_load("reload", (name, command.request_id))
            return None
        if name == "start_calibration":
            sc = command.start_calibration
            return self._calib_start(sc.phase, sc.duration_s)
        if name == "stop_calibration":
            return self._calib_stop(command.stop_calibration.save)
        if name == "start_raw_stream":
            self.raw_stream = True
            return "raw sEMG streaming on telemetry/raw_emg"
        if name == "stop_raw_stream":
            self.raw_stream = False
            return "raw sEMG streaming stopped"
        raise CommandError(f"command {name!r} is not implemented")

    # --- MQTT publishing -------------------------------------------------------------------------

    def _event(self, level: tm.Event.Level, kind: str, message: str, **details: str) -> None:
        if self.mqtt is not None:
            self.mqtt.event(level, kind, message, **details)

    def _status(self) -> tuple[int, str]:
        st = self.state
        if not self.link.connected:
            return tm.Status.STATE_DEGRADED, f"no device on {self.config.serial.url}"
        if st.hello is None:
            return tm.Status.STATE_DEGRADED, "waiting for the device's Hello"
        if not st.schema_ok:
            return tm.Status.STATE_DEGRADED, st.schema_error
        if self.model is None:
            return tm.Status.STATE_DEGRADED, f"no model: bundle {self.config.bundle.dir} not loaded"
        if st.model_error:
            return tm.Status.STATE_DEGRADED, st.model_error
        return tm.Status.STATE_ONLINE, f"running, mode {tm.Mode.Name(self.modes.mode)}"

    def _set_status(self) -> None:
        key = self._status()
        if key == self._status_key:
            return
        self._status_key = key
        state, detail = key
        self.notifier.status(detail)
        if self.mqtt is not None:
            self.mqtt.set_status(state, detail)  # type: ignore[arg-type]

    def _publish_meta(self) -> None:
        if self.mqtt is None:
            return
        meta = tm.Meta(edge_version=__version__, schema_hash=SCHEMA_HASH, mode=self.modes.mode)
        if self.state.hello is not None:
            meta.device.CopyFrom(self.state.hello)
        if self.model is not None:
            m = self.model.bundle.manifest
            meta.channel_names.extend(m.features.channels)
            meta.motor_names.extend(m.motors)
            meta.model_name = m.mlflow.model_name or ""
            meta.model_version = m.mlflow.model_version or ""
            meta.mlflow_run_id = m.mlflow.run_id or ""
            meta.bundle_sha256 = self.model.bundle_sha256
            meta.dataset_md5 = m.dataset_md5
        self.mqtt.set_meta(meta)

    def _levels(self) -> list[float]:
        hist = self._history_array()
        hello = self.state.hello
        if hist is None or hello is None or self.model is None:
            return []
        n = self.model.bundle.manifest.features.window_samples
        window = hist[-n:]
        half = float(2 ** ((hello.adc_bits or 12) - 1))
        centred = (window - window.mean(axis=0)) / half
        return [float(v) for v in np.sqrt(np.mean(centred * centred, axis=0))]

    def _publish_telemetry(self) -> None:
        self._set_status()
        if self.mqtt is None or not self.mqtt.connected:
            if self.mqtt is not None:
                self.mqtt.dropped += 1
            return
        st = self.state
        msg = tm.Telemetry(
            timestamp_ms=time.time_ns() // 1_000_000,
            device_time_us=st.predicted_window_end_us,
            emg_level=self._levels(),
            audio_level=st.audio_level_dbfs,
            mode=self.modes.mode,
            expression=st.expression,
            expression_confidence=st.expression_confidence,
        )
        if st.predicted is not None:
            msg.predicted.extend(float(v) for v in st.predicted)
        if st.commanded is not None:
            msg.commanded.extend(float(v) for v in st.commanded)
        if st.last_status is not None:
            msg.measured_us.extend(st.last_status.servo_us)
            msg.failsafe = st.last_status.failsafe
        msg.timings.CopyFrom(st.timings)
        self.mqtt.telemetry(msg)

    def _publish_metrics(self) -> None:
        if self.mqtt is None:
            return
        c = self.link.counters
        st = self.state
        msg = tm.Metrics(
            timestamp_ms=time.time_ns() // 1_000_000,
            frames_per_second=self.fps.rate(),
            frames=st.frames,
            sequence_gaps=c.sequence_gaps,
            cobs_errors=c.cobs_errors,
            crc_errors=c.crc_errors,
            length_errors=c.length_errors,
            decode_errors=c.decode_errors,
            commands_sent=st.commands_sent,
            commands_rejected=st.commands_rejected,
            reconnects=c.reconnects,
        )
        if st.last_status is not None:
            msg.device.CopyFrom(st.last_status.counters)
            msg.dropped_samples = st.last_status.counters.dropped_samples
        self.latency.fill(msg)
        self.mqtt.metrics(msg)
