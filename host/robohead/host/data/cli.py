"""`robohead data ...`: synthesise, validate and inspect sessions (thin wrappers)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

data_app = typer.Typer(
    name="data",
    help="Session data: synthesise a dataset, validate sessions, show labels.",
    no_args_is_help=True,
)


@data_app.command("synth")
def synth_cmd(
    out: Path = typer.Option(Path("data/raw"), "--out", "-o", help="Dataset root to write into."),
    subjects: int | None = typer.Option(None, help="Subjects (default: params.yaml data.synth)."),
    sessions: int | None = typer.Option(None, help="Sessions per subject (default: params.yaml)."),
    protocol: str | None = typer.Option(None, help="Protocol name or YAML path (default: params)."),
    no_audio: bool = typer.Option(False, "--no-audio", help="Write no audio.wav."),
    params_file: Path | None = typer.Option(None, "--params", help="params.yaml to read."),
) -> None:
    """Write a deterministic synthetic dataset (seed from params.yaml) in the session format."""
    from robohead.host.data.params import load_params
    from robohead.host.data.synth import synth_dataset

    params = load_params(params_file)
    t0 = time.perf_counter()
    written = synth_dataset(
        params,
        out,
        subjects=subjects,
        sessions=sessions,
        protocol=protocol,
        audio=False if no_audio else None,
    )
    typer.echo(f"wrote {len(written)} sessions under {out} in {time.perf_counter() - t0:.1f} s")


@data_app.command("validate")
def validate_cmd(
    paths: list[Path] = typer.Argument(..., help="Session folders or folders of sessions."),
    allow_incomplete: bool = typer.Option(
        False, "--allow-incomplete", help="Exit 0 when the only problem is an unfinalised session."
    ),
    params_file: Path | None = typer.Option(None, "--params", help="params.yaml to read."),
) -> None:
    """Check every file of every session; print each problem as file:line: what was expected."""
    from robohead.host.data.params import load_params
    from robohead.host.data.validate import validate_paths

    params = load_params(params_file)
    reports = validate_paths(paths, params)
    if not reports:
        typer.echo(f"no sessions (no session.json) under {', '.join(map(str, paths))}", err=True)
        raise typer.Exit(2)
    bad = 0
    for rep in reports:
        for p in rep.problems:
            typer.echo(p.format())
        status = rep.status
        typer.echo(f"{rep.folder}: {status}")
        if status == "INVALID" or (status == "INCOMPLETE" and not allow_incomplete):
            bad += 1
    typer.echo(f"{len(reports)} sessions, {bad} with problems")
    if bad:
        raise typer.Exit(1)
