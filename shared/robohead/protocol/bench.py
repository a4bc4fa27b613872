"""Protocol benchmark: decode cost, wire efficiency and link capacity (not a timed test).

``run_benchmark()`` returns a JSON-able dict (``make bench`` collects it);
``python shared/bench/bench_protocol.py`` prints it. Numbers:

- ``decode_us``: median cost per frame of wire bytes -> numpy (n, ch) int16 for an EmgFrame with
  10 samples x 8 channels, split into framing (COBS + CRC), protobuf parse and numpy view;
- ``wire``: for 10-sample frames with 4 and 8 channels, sample bytes, protobuf payload bytes and
  bytes on the wire (COBS + CRC + delimiter), and the efficiencies payload/wire and samples/wire;
- ``capacity``: at 921600 baud 8N1 (92160 bytes/s), the highest per-channel sampling rate for 1
  to 8 channels at 10 samples per frame, after reserving DeviceStatus at 5 Hz and Pong at 1 Hz.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any

import numpy as np

from robohead.protocol.framing import FrameDecoder, decode_frame, encode_frame
from robohead.protocol.messages import decode_device, emg_frame, emg_samples, encode_device
from robohead.protocol.v1 import device_pb2 as pb

__all__ = ["machine", "run_benchmark"]

BAUD = 921600
BITS_PER_BYTE = 10  # 8N1: start + 8 data + stop
SAMPLES_PER_FRAME = 10


def machine() -> dict[str, Any]:
    """Where the numbers were measured."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "machine": platform.machine(),
        "cpu": model,
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def _emg_message(channels: int, sequence: int = 1_234_567) -> pb.DeviceMessage:
    rng = np.random.default_rng(channels)
    # Realistic counts: a 12-bit ADC around mid-scale with noise (few 0x00 bytes to escape).
    samples = rng.normal(2048, 200, size=(SAMPLES_PER_FRAME, channels)).astype(np.int16)
    return pb.DeviceMessage(emg=emg_frame(sequence, 3_600_000_000, samples))


def _median_ns_per_item(fn: Any, items: list[Any], repeats: int) -> float:
    per_item = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for item in items:
            fn(item)
        per_item.append((time.perf_counter_ns() - start) / len(items))
    return statistics.median(per_item)


def _decode_costs(batch: int, repeats: int) -> dict[str, float]:
    frames = [encode_device(_emg_message(8, sequence=i)) for i in range(batch)]
    bodies = [f[:-1] for f in frames]
    payloads = [decode_frame(b) for b in bodies]
    messages = [decode_device(p) for p in payloads]
    decoder = FrameDecoder()

    def full(frame: bytes) -> None:
        for payload in decoder.feed(frame):
            emg_samples(decode_device(payload).emg)

    full_ns = _median_ns_per_item(full, frames, repeats)
    framing_ns = _median_ns_per_item(decode_frame, bodies, repeats)
    proto_ns = _median_ns_per_item(decode_device, payloads, repeats)
    numpy_ns = _median_ns_per_item(lambda m: emg_samples(m.emg), messages, repeats)
    stream = b"".join(frames)
    start = time.perf_counter_ns()
    out = FrameDecoder().feed(stream)
    stream_ns = (time.perf_counter_ns() - start) / len(out)
    return {
        "frame_10x8_total_us": round(full_ns / 1000, 2),
        "framing_cobs_crc_us": round(framing_ns / 1000, 2),
        "protobuf_parse_us": round(proto_ns / 1000, 2),
        "numpy_frombuffer_us": round(numpy_ns / 1000, 2),
        "stream_framing_only_us": round(stream_ns / 1000, 2),
        "frames_per_second_one_core": round(1e9 / full_ns),
    }


def _wire(channels: int) -> dict[str, float]:
    msg = _emg_message(channels)
    payload = msg.SerializeToString()
    wire = encode_device(msg)
    sample_bytes = len(msg.emg.samples)
    return {
        "sample_bytes": sample_bytes,
        "payload_bytes": len(payload),
        "wire_bytes": len(wire),
        "payload_per_wire": round(len(payload) / len(wire), 4),
        "samples_per_wire": round(sample_bytes / len(wire), 4),
    }


def _capacity() -> dict[str, Any]:
    bytes_per_s = BAUD / BITS_PER_BYTE
    status = pb.DeviceMessage(
        status=pb.DeviceStatus(
            device_time_us=2**40,
            servo_us=[1500, 1500, 1500],
            failsafe=pb.FAILSAFE_STATE_ACTIVE,
            counters=pb.DeviceCounters(rx_frames=10**7, dropped_samples=10**4),
            uptime_ms=2**32,
            last_command_sequence=10**7,
        )
    )
    pong = pb.DeviceMessage(pong=pb.Pong(nonce=2**31, device_time_us=2**40, edge_time_us=2**50))
    reserved = 5 * len(encode_device(status)) + 1 * len(encode_device(pong))
    by_channels: dict[str, Any] = {}
    for channels in (1, 2, 4, 8):
        wire = len(encode_device(_emg_message(channels)))
        frames_per_s = (bytes_per_s - reserved) / wire
        rate = int(frames_per_s * SAMPLES_PER_FRAME)
        by_channels[str(channels)] = {
            "wire_bytes_per_frame": wire,
            "max_rate_hz_per_channel": rate,
            "max_samples_per_s_total": rate * channels,
        }
    default_wire = len(encode_device(_emg_message(4)))
    default_load = (1000 / SAMPLES_PER_FRAME * default_wire + reserved) / bytes_per_s
    return {
        "baud": BAUD,
        "bytes_per_s": bytes_per_s,
        "samples_per_frame": SAMPLES_PER_FRAME,
        "reserved_bytes_per_s": reserved,
        "by_channels": by_channels,
        "default_1khz_4ch_link_load": round(default_load, 4),
    }


def run_benchmark(batch: int = 2000, repeats: int = 15) -> dict[str, Any]:
    """Run everything; about a second on a 2-core VM with the defaults."""
    return {
        "benchmark": "protocol",
        "machine": machine(),
        "decode_us": _decode_costs(batch, repeats),
        "wire": {"10x4": _wire(4), "10x8": _wire(8)},
        "capacity": _capacity(),
        "empty_frame_bytes": len(encode_frame(b"")),
    }
