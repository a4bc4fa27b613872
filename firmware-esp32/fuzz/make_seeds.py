#!/usr/bin/env python3
"""Seed corpora for the libFuzzer harnesses from the protocol's golden vectors (shared/vectors).

    make_seeds.py VECTORS_DIR OUT_DIR   ->  OUT_DIR/frame_decoder/*  and  OUT_DIR/device/*

frame_decoder seeds: byte 0 = chunk size, then the vector's wire frame (and all of them in a row).
device seeds: the script format of fuzz_device.cpp: each host vector as raw bytes (op 0) and as
a framed payload (op 1, the payload recovered by undoing COBS and the CRC), with time passing
(op 2) between them. Standard library only (runs with the system python3).
"""

from __future__ import annotations

import sys
from pathlib import Path


def cobs_decode(body: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(body):
        code = body[i]
        out += body[i + 1 : i + code]
        i += code
        if code < 0xFF and i < len(body):
            out.append(0)
    return bytes(out)


def raw_ops(frame: bytes) -> bytes:
    ops = bytearray()
    for i in range(0, len(frame), 256):
        part = frame[i : i + 256]
        ops += bytes([0, len(part) - 1]) + part
    return bytes(ops)


def main(vectors: Path, out: Path) -> int:
    frames = {p.stem: bytes.fromhex(p.read_text().strip()) for p in sorted(vectors.glob("*.hex"))}
    if not frames:
        print(f"no *.hex vectors in {vectors}", file=sys.stderr)
        return 1
    fd, dv = out / "frame_decoder", out / "device"
    fd.mkdir(parents=True, exist_ok=True)
    dv.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        (fd / name).write_bytes(bytes([255]) + frame)
    (fd / "all_chunk7").write_bytes(bytes([6]) + b"".join(frames.values()))
    host = {n: f for n, f in frames.items() if n.startswith("host_")}
    script = bytearray()
    for name, frame in host.items():
        payload = cobs_decode(frame[:-1])[:-2]
        one = raw_ops(frame) + bytes([2, 30]) + bytes([1, len(payload) >> 8, len(payload) & 0xFF])
        one += payload + bytes([2, 50])
        (dv / name).write_bytes(one)
        script += one
    (dv / "all_host_vectors").write_bytes(bytes(script) + bytes([2, 255, 3, 40, 7, 2, 100]))
    print(f"{len(frames)} frame seeds, {len(host) + 1} device seeds -> {out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(main(Path(sys.argv[1]), Path(sys.argv[2])))
