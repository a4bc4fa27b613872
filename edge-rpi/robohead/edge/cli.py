"""`robohead-edge`: the command line of the Raspberry Pi daemon."""

from __future__ import annotations

import typer

from robohead.edge import __version__

app = typer.Typer(
    name="robohead-edge",
    help="robohead edge daemon: drives the robot head's three servos from sEMG and voice, live.",
    no_args_is_help=True,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"robohead-edge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """robohead edge daemon: drives the robot head's three servos from sEMG and voice, live."""


@app.command()
def info() -> None:
    """Print the versions of the edge and the protocol it speaks."""
    from robohead.protocol import __version__ as protocol_version

    typer.echo(f"robohead-edge {__version__}, protocol {protocol_version}")


from robohead.edge.cli_daemon import register  # noqa: E402  (run, calibrate, replay, bench)

register(app)


def main() -> None:
    app()
