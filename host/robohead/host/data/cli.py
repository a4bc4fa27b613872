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


@data_app.command("labels")
def labels_cmd(
    path: Path = typer.Argument(..., help="A session folder."),
    params_file: Path | None = typer.Option(None, "--params", help="params.yaml to read."),
) -> None:
    """Show each cue's measured reaction delay (the onset alignment the labels use)."""
    from robohead.host.data.labels import make_labels
    from robohead.host.data.params import load_params
    from robohead.host.data.session import SessionError, load_session

    params = load_params(params_file)
    try:
        session = load_session(path, allow_incomplete=True)
    except SessionError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e
    labels = make_labels(session, params)
    for a in labels.alignments:
        if a.cue.label == "neutral":
            continue
        how = f"found on {a.channel}" if a.found else "not found: session median"
        typer.echo(
            f"{a.cue.start_s:8.2f} s  {a.cue.label:<12} delay {1000 * a.delay_s:4.0f} ms  ({how})"
        )
    found = [a for a in labels.alignments if a.found]
    prompted = [a for a in labels.alignments if a.cue.label != "neutral"]
    typer.echo(f"{len(found)}/{len(prompted)} onsets found")
