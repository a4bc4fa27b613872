"""`robohead`: the workstation command line (data, training, deploy, monitor)."""

from __future__ import annotations

import typer

from robohead.host import __version__
from robohead.host.bench.cli import register as register_bench
from robohead.host.data.cli import data_app
from robohead.host.data.collect_cli import collect_cmd
from robohead.host.monitor.cli import register as register_monitor
from robohead.host.sim.cli import register as register_sim
from robohead.host.train_cli import register as register_training

app = typer.Typer(
    name="robohead",
    help="robohead workstation tools: record and synthesise data, train, export and deploy models.",
    no_args_is_help=True,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"robohead {__version__}")
        raise typer.Exit()


app.add_typer(data_app, name="data")
app.command("collect")(collect_cmd)
register_monitor(app)
register_sim(app)
register_bench(app)
register_training(app)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """robohead workstation tools: record and synthesise data, train, export and deploy models."""


@app.command()
def info() -> None:
    """Print the versions of the host, edge and protocol packages."""
    from robohead.edge import __version__ as edge_version
    from robohead.protocol import __version__ as protocol_version

    typer.echo(f"robohead {__version__}, edge {edge_version}, protocol {protocol_version}")


def main() -> None:
    app()
