"""robohead's wire protocol, shared by the edge, the host and (through nanopb) the firmware."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("robohead-protocol")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
