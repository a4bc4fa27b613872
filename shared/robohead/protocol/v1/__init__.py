"""Generated protobuf modules for robohead.v1 (``make proto``); do not edit."""
