"""`robohead-edge calibrate`: talk to the device directly, record rest then maximal contraction,
store the per-channel normalisation (see robohead.edge.calibration for why and when)."""

from __future__ import annotations

import time
from collections.abc import Callable

from robohead.edge.bundle import BundleError, load_bundle
from robohead.edge.calibration import (
    Calibration,
    CalibrationError,
    Recorder,
    channel_rms,
    compute_calibration,
    load_calibration,
    save_calibration,
)
from robohead.edge.config import EdgeConfig
from robohead.protocol.link import Link, LinkError
from robohead.protocol.messages import emg_samples
from robohead.protocol.schema import SCHEMA_HASH, format_schema_hash
from robohead.protocol.v1 import device_pb2 as dev

__all__ = ["CalibrateError", "run_calibration"]

_HELLO_TIMEOUT_S = 10.0


class CalibrateError(RuntimeError):
    """The calibration session could not run (port busy, no device, bad recording)."""


def _hello(link: Link, timeout: float) -> dev.Hello:
    deadline = time.monotonic() + timeout
    asked = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() - asked > 1.0:
            link.send_host(
                dev.HostMessage(ping=dev.Ping(schema_hash=SCHEMA_HASH, request_hello=True))
            )
            asked = time.monotonic()
        msg = link.receive(timeout=0.2)
        if msg is not None and msg.WhichOneof("payload") == "hello":
            return msg.hello
    raise CalibrateError(f"no Hello from the device on {link.url} within {timeout:g} s")


def _record(link: Link, hello: dev.Hello, seconds: float) -> Recorder:
    recorder = Recorder(int(seconds * hello.sampling_rate_hz), hello.channel_count)
    deadline = time.monotonic() + seconds * 3 + 5
    while not recorder.done:
        if time.monotonic() > deadline:
            raise CalibrateError(
                f"only {recorder.progress:.0%} of {seconds:g} s arrived; is the device streaming?"
            )
        msg = link.receive(timeout=0.5)
        if msg is not None and msg.WhichOneof("payload") == "emg":
            recorder.add(emg_samples(msg.emg))
    return recorder


def run_calibration(
    cfg: EdgeConfig,
    *,
    rest_s: float,
    max_s: float,
    new_reference: bool,
    prompt: Callable[[str], object] | None,
    say: Callable[[str], object],
) -> Calibration:
    filt = channels = None
    try:
        bundle = load_bundle(cfg.bundle.dir)
        filt = bundle.manifest.features.filter
        channels = list(bundle.manifest.features.channels)
    except BundleError as exc:
        say(f"note: no usable bundle ({exc.code}); levels use the DC-removed signal")
    try:
        link = Link(cfg.serial.url, reconnect=False).open()
    except LinkError as exc:
        raise CalibrateError(
            f"{exc}. If the daemon is running it holds the port: stop it "
            "(systemctl stop robohead-edge) or calibrate over MQTT instead."
        ) from exc
    try:
        hello = _hello(link, _HELLO_TIMEOUT_S)
        if hello.schema_hash != SCHEMA_HASH:
            raise CalibrateError(
                f"schema mismatch: device {format_schema_hash(hello.schema_hash)}, "
                f"edge {format_schema_hash(SCHEMA_HASH)}"
            )
        names = channels or [f"ch{i}" for i in range(hello.channel_count)]
        if len(names) != hello.channel_count:
            raise CalibrateError(
                f"the bundle names {len(names)} channels, the device sends {hello.channel_count}"
            )
        levels = []
        for phase, seconds, text in (
            ("rest", rest_s, "Relax your whole face and stay still."),
            (
                "max",
                max_s,
                "Contract every muscle as hard as you can: raise brows, frown, smile, "
                "open the jaw (one after another is fine).",
            ),
        ):
            if prompt is not None:
                prompt(f"{text} Press Enter to record {seconds:g} s of {phase}")
            else:
                say(f"{text} Recording {seconds:g} s of {phase}...")
            recorder = _record(link, hello, seconds)
            levels.append(
                channel_rms(
                    recorder.samples,
                    adc_bits=hello.adc_bits or 12,
                    sampling_rate_hz=float(hello.sampling_rate_hz),
                    filt=filt,
                )
            )
        try:
            previous = load_calibration(cfg.calibration_path)
        except CalibrationError:
            previous = None
        try:
            cal = compute_calibration(
                names,
                list(levels[0]),
                list(levels[1]),
                adc_bits=hello.adc_bits or 12,
                previous=previous,
                new_reference=new_reference,
            )
        except CalibrationError as exc:
            raise CalibrateError(str(exc)) from exc
        save_calibration(cfg.calibration_path, cal)
        return cal
    finally:
        link.close()
