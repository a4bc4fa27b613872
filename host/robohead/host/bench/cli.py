"""`robohead bench` (what `make bench` runs): every benchmark, one table, JSON under .bench/."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import typer

__all__ = ["bench", "register"]


def bench(
    only: list[str] = typer.Option(
        [], "--only", help="Run only these (protocol, firmware, edge, inference, loop, train)."
    ),
    quick: bool = typer.Option(False, "--quick", help="Shorter runs (for trying it out)."),
    sim_seconds: float = typer.Option(30.0, "--sim-seconds", min=5, help="Loop latency run."),
    out: Path = typer.Option(Path(".bench"), "--out", help="Folder for the JSON (git-ignored)."),
    bundle: Path | None = typer.Option(
        None, "--bundle", help="Bundle to measure (default: params.yaml sim.bundle, the champion)."
    ),
) -> None:
    """Run every benchmark of the project and print one table (also .bench/bench.json, .md)."""
    import tempfile

    from rich.console import Console

    from robohead.host.bench.report import markdown, table
    from robohead.host.bench.suite import BENCHMARKS, NEEDS_BUNDLE, BenchContext, Result, machine
    from robohead.host.sim.bundles import copy_bundle, ensure_bundle
    from robohead.host.sim.settings import load_sim_settings

    console = Console()
    if not console.is_terminal:  # a log file or pipe: room for the whole table
        console = Console(width=160)
    unknown = [n for n in only if n not in BENCHMARKS]
    if unknown:
        console.print(f"[red]bench[/red]: unknown {unknown}; choose from {list(BENCHMARKS)}")
        raise typer.Exit(2)
    settings, root = load_sim_settings()
    names = only or list(BENCHMARKS)
    started = datetime.now(UTC)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="robohead-bench-") as tmp:
        work = Path(tmp)
        copied = work / "bundle"
        if any(n in NEEDS_BUNDLE for n in names):  # a verified copy: `make train` may replace it
            src = ensure_bundle(root, bundle or root / settings.bundle, say=console.print)
            copy_bundle(src, copied)
        ctx = BenchContext(
            root=root,
            bundle=copied,
            workdir=work,
            quick=quick,
            sim_seconds=sim_seconds,
        )
        for name in names:
            with console.status(f"benchmark: {name} ..."):
                t0 = time.perf_counter()
                try:
                    result = BENCHMARKS[name](ctx)
                except Exception as exc:
                    result = Result(name, error=f"{type(exc).__name__}: {exc}")
                result.seconds = time.perf_counter() - t0
            results.append(result)
            if result.error:
                console.print(f"[red]{name} failed[/red]: {result.error}")
            else:
                console.print(f"{name}: {len(result.rows)} rows in {result.seconds:.0f} s")
    info = machine()
    console.print(table(results, info, started))
    doc = {
        "date_utc": started.isoformat(timespec="seconds"),
        "machine": info,
        "quick": quick,
        "results": {
            r.name: {
                "seconds": r.seconds,
                "error": r.error,
                "rows": [row.__dict__ for row in r.rows],
                "raw": r.raw,
            }
            for r in results
        },
    }
    root_out = out if out.is_absolute() else root / out
    root_out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    for path in (root_out / f"bench-{stamp}.json", root_out / "bench.json"):
        path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    (root_out / "bench.md").write_text(markdown(results, info, started))
    console.print(
        f"JSON: {root_out / 'bench.json'}  Markdown for the README: {root_out / 'bench.md'}"
    )
    if any(r.error for r in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `bench` to the `robohead` command."""
    app.command("bench")(bench)
