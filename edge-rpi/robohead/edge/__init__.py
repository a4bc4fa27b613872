"""robohead's edge daemon: the same DSP as training, ONNX Runtime inference, motor commands."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("robohead-edge")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
