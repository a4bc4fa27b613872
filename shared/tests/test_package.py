"""The protocol distribution installs as part of the robohead namespace."""

import importlib.metadata

import robohead.protocol


def test_protocol_version_matches_distribution() -> None:
    assert robohead.protocol.__version__ == importlib.metadata.version("robohead-protocol")


def test_robohead_is_a_namespace_package() -> None:
    import robohead

    # PEP 420: no robohead/__init__.py, so the three distributions share the name.
    assert getattr(robohead, "__file__", None) is None
    assert len(list(robohead.__path__)) >= 3
