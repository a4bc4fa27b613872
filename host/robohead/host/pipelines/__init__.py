"""ZenML pipelines: they only wire steps (see ``robohead.host.steps``)."""
