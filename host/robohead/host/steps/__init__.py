"""The training pipeline's steps, one ``@step`` per module (wired in ``robohead.host.pipelines``).

Importing a step never touches the ZenML stack; the steps that log to MLflow name the
experiment tracker component created by ``robohead.host.zenml_stack``.
"""
