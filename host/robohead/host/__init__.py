"""robohead's workstation side: data, training pipeline, export, registry, deploy."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("robohead-host")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
