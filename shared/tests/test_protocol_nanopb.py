"""Cross-check with the C side: nanopb decodes every golden vector and re-encodes the same bytes.

This compiles the checked-in nanopb code with Debian's libnanopb (the firmware's host build uses
the same), so a bound in device.options that is too small for a vector, or a header whose hash
differs from Python's, fails here already.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from robohead.protocol.framing import decode_frame
from robohead.protocol.schema import SCHEMA_HASH
from robohead.protocol.vectors import GoldenVector, load_vectors

SHARED = Path(__file__).resolve().parents[1]
NANOPB = SHARED / "nanopb"
VECTORS = load_vectors()


@pytest.fixture(scope="module")
def roundtrip_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None or not Path("/usr/include/pb_decode.h").exists():
        pytest.skip("needs gcc and libnanopb-dev")
    out = tmp_path_factory.mktemp("nanopb") / "roundtrip"
    cmd = [
        cc,
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Werror",
        f"-I{NANOPB}",
        "-o",
        str(out),
        str(Path(__file__).with_name("nanopb_roundtrip.c")),
        str(NANOPB / "robohead" / "protocol" / "v1" / "device.pb.c"),
        "-lprotobuf-nanopb",
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


def test_c_header_hash_equals_python(roundtrip_bin: Path) -> None:
    out = subprocess.run([str(roundtrip_bin), "hash"], capture_output=True, text=True, check=True)
    assert int(out.stdout, 16) == SCHEMA_HASH


@pytest.mark.parametrize("vec", VECTORS, ids=[v.name for v in VECTORS])
def test_nanopb_re_encodes_vector_identically(roundtrip_bin: Path, vec: GoldenVector) -> None:
    payload = decode_frame(vec.frame[:-1])
    out = subprocess.run(
        [str(roundtrip_bin), vec.direction],
        input=payload.hex() + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == payload.hex()
