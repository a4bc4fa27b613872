"""PyTorch models over the last K feature frames (motor regression + expression class)."""

from robohead.host.models.nets import ARCHITECTURES, Deployed, ExpressionNet, build_model

__all__ = ["ARCHITECTURES", "Deployed", "ExpressionNet", "build_model"]
