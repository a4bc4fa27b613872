"""Numeric CSV tables of a session: a fast vectorised read and a line-by-line diagnosis.

The fast path (numpy.loadtxt) handles every well-formed file; only when it fails do we walk the
lines to say which line is wrong and why, so a healthy dataset loads in milliseconds and a broken
one still gets a precise message.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

MAX_PROBLEMS_PER_KIND = 5


@dataclass(frozen=True)
class CsvProblem:
    """One thing wrong at one line (1-based, the header is line 1; 0 = the file itself)."""

    line: int
    kind: str
    message: str


@dataclass
class NumericTable:
    """The parsed rows plus what was wrong. `values` holds only the well-formed rows."""

    header: list[str]
    values: NDArray[np.float64]
    problems: list[CsvProblem] = field(default_factory=list)
    truncated_tail: bool = False  # the last line had no newline (a write cut short)
    labels: list[str] | None = None  # the trailing text column, when asked for one
    lines: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    rows: int = 0  # complete body lines, well-formed or not


def _split_body(data: bytes) -> tuple[str, bytes, bool]:
    """Header line, the body and whether the body ends in mid-line."""
    nl = data.find(b"\n")
    if nl < 0:
        return data.decode("utf-8", "replace").strip(), b"", bool(data)
    header = data[:nl].decode("utf-8", "replace").rstrip("\r")
    body = data[nl + 1 :]
    truncated = bool(body) and not body.endswith(b"\n")
    return header, body, truncated


def read_numeric_csv(
    path: Path,
    expected_header: list[str],
    *,
    text_last_column: bool = False,
    integer: bool = True,
) -> NumericTable:
    """Parse a CSV whose columns are numbers (optionally a last text column).

    Problems (not exceptions) describe a wrong header, a wrong column count, a value that is no
    number, a NaN; a last line without a newline is set aside as `truncated_tail` (the caller
    decides whether that is corruption or a recording cut short).
    """
    data = path.read_bytes()
    header_text, body, truncated = _split_body(data)
    header = header_text.split(",") if header_text else []
    problems: list[CsvProblem] = []
    if header != expected_header:
        problems.append(
            CsvProblem(
                1, "header", f"header is {header_text!r}, expected {','.join(expected_header)!r}"
            )
        )
    ncols = len(expected_header)
    if truncated:
        last_nl = body.rfind(b"\n")
        body = body[: last_nl + 1] if last_nl >= 0 else b""
    nnum = ncols - 1 if text_last_column else ncols
    values: NDArray[np.float64] | None = None
    labels: list[str] | None = None
    lines: NDArray[np.int64] | None = None
    if not problems:
        values, labels = _fast(body, nnum, ncols, text_last_column, integer)
        lines = np.arange(2, 2 + len(values), dtype=np.int64) if values is not None else None
    if values is None or lines is None:
        values, labels, lines, slow = _slow(body, ncols, text_last_column, integer)
        problems.extend(slow)
    rows = body.count(b"\n")
    return NumericTable(header, values, problems, truncated, labels, lines, rows)


def _fast(
    body: bytes, nnum: int, ncols: int, text_last: bool, integer: bool
) -> tuple[NDArray[np.float64] | None, list[str] | None]:
    if not body:
        return np.zeros((0, nnum)), ([] if text_last else None)
    try:
        vals = np.loadtxt(
            io.BytesIO(body),
            delimiter=",",
            dtype=np.int64 if integer else np.float64,
            ndmin=2,
            usecols=range(nnum) if text_last else None,
            comments=None,
        )
    except ValueError:
        return None, None
    if vals.shape[1] != nnum or (not integer and not np.isfinite(vals).all()):
        return None, None
    labels = None
    if text_last:
        lines = body.decode("utf-8", "replace").splitlines()  # like _slow: bad bytes -> U+FFFD
        parts = [ln.split(",") for ln in lines]
        if any(len(p) != ncols for p in parts):
            return None, None
        labels = [p[-1] for p in parts]
    return np.asarray(vals, dtype=np.float64), labels


def _slow(
    body: bytes, ncols: int, text_last: bool, integer: bool
) -> tuple[NDArray[np.float64], list[str] | None, NDArray[np.int64], list[CsvProblem]]:
    """Walk every line; keep good rows, describe bad ones (a few per kind)."""
    problems: list[CsvProblem] = []
    counts: dict[str, int] = {}

    def report(line: int, kind: str, msg: str) -> None:
        counts[kind] = counts.get(kind, 0) + 1
        if counts[kind] <= MAX_PROBLEMS_PER_KIND:
            problems.append(CsvProblem(line, kind, msg))

    nnum = ncols - 1 if text_last else ncols
    rows: list[list[float]] = []
    labels: list[str] = []
    kept: list[int] = []
    for i, raw in enumerate(body.decode("utf-8", "replace").split("\n")[:-1] if body else []):
        lineno = i + 2
        parts = raw.rstrip("\r").split(",")
        if len(parts) != ncols:
            report(lineno, "columns", f"{len(parts)} columns, expected {ncols}")
            continue
        row: list[float] = []
        ok = True
        for j, tok in enumerate(parts[:nnum]):
            try:
                v = float(tok)
            except ValueError:
                report(lineno, "type", f"column {j + 1} is {tok!r}, expected a number")
                ok = False
                break
            if math.isnan(v) or math.isinf(v):
                report(lineno, "nan", f"column {j + 1} is {tok!r}, expected a finite number")
                ok = False
                break
            if integer and v != int(v):
                report(lineno, "type", f"column {j + 1} is {tok!r}, expected an integer")
                ok = False
                break
            row.append(v)
        if ok:
            rows.append(row)
            kept.append(lineno)
            if text_last:
                labels.append(parts[-1])
    for kind, n in counts.items():
        if n > MAX_PROBLEMS_PER_KIND:
            problems.append(CsvProblem(0, kind, f"... {n - MAX_PROBLEMS_PER_KIND} more lines"))
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, nnum)
    return arr, (labels if text_last else None), np.asarray(kept, np.int64), problems
