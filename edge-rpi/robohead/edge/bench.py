"""`robohead-edge bench`: what one hop costs on this machine, and what the daemon costs to run.

1. Per hop (10 ms of sEMG at 1 kHz = one feature frame = one model call): DSP (filters, sEMG
   and log-mel features), inference (ONNX Runtime, one thread) and post-processing, for 4 and 8
   channels; median and p99 over a synthetic stream.
2. ONNX Runtime against PyTorch eager on the same model in one run (batch 1, one thread each),
   when torch is importable (the edge never depends on it: without torch, and with a bundle of
   a matching channel count, the bundle's own model is timed instead).
3. The daemon as a process against a fake device on a pty: time from start to the first
   MotorCommand and its resident memory.

The feature configuration comes from `--bundle` (its manifest) or `--params` (params.yaml).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import typer

__all__ = ["bench"]

HOP_SAMPLES = 10
MOTORS = ("brows", "smile", "jaw")


@dataclass
class HopResult:
    channels: int
    features: int
    model: str
    hops: int
    total_median_ms: float
    total_p99_ms: float
    dsp_median_ms: float
    inference_median_ms: float
    postprocess_median_ms: float


@dataclass
class BenchReport:
    machine: str
    hop: list[HopResult] = field(default_factory=list)
    ort_vs_torch: dict[str, float] | None = None
    daemon: dict[str, float] | None = None
    notes: list[str] = field(default_factory=list)


def _template(bundle: Path | None, params: Path | None) -> Any:
    from robohead.edge.dsp.config import FeatureConfig

    if bundle is not None:
        from robohead.edge.bundle import load_bundle

        return load_bundle(bundle).manifest.features
    path = params or Path("params.yaml")
    try:
        import yaml
    except ImportError as exc:
        raise typer.BadParameter("--params needs PyYAML; or pass --bundle DIR") from exc
    if not path.is_file():
        raise typer.BadParameter(f"{path}: not found; pass --bundle DIR or --params PATH")
    p = yaml.safe_load(path.read_text())
    return FeatureConfig.from_params(
        p["dsp"],
        sampling_rate_hz=p["device"]["sampling_rate_hz"],
        adc_bits=p["device"]["adc_bits"],
        channels=[c["name"] for c in p["channels"]],
        audio_rate_hz=p["audio"]["sampling_rate_hz"],
    )


def _with_channels(template: Any, n: int) -> Any:
    names = list(template.channels)[:n] + [f"ch{i}" for i in range(len(template.channels), n)]
    return template.model_copy(update={"channels": tuple(names)})


def _counts(cfg: Any, seconds: float, seed: int = 0) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(seconds * cfg.sampling_rate_hz)
    t = np.arange(n) / cfg.sampling_rate_hz
    envelope = 0.1 + np.abs(np.sin(2 * np.pi * 0.5 * t[:, None] + np.arange(cfg.n_channels)))
    mid = 2 ** (cfg.adc_bits - 1)
    x = mid + 200 * envelope * rng.standard_normal((n, cfg.n_channels))
    return np.clip(np.round(x), 0, 2 * mid - 1).astype(np.int16)


def _torch_model(cfg: Any, path: Path) -> Any:
    """A small MLP over the K x F input (the size of the project's default model), exported."""
    import torch

    torch.manual_seed(0)
    k, f = cfg.context_frames, cfg.n_features
    net = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(k * f, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 3),
        torch.nn.Sigmoid(),
    ).eval()
    example = torch.zeros(1, k, f)
    torch.onnx.export(
        net,
        (example,),
        str(path),
        input_names=["features"],
        output_names=["motors"],
        dynamic_axes={"features": {0: "batch"}, "motors": {0: "batch"}},
        opset_version=18,
        dynamo=False,
    )
    return net


def _hop_costs(cfg: Any, model_path: Path, seconds: float, name: str) -> HopResult:
    import numpy as np

    from robohead.edge.dsp.extractor import extract_session
    from robohead.edge.dsp.normalize import Normalization
    from robohead.edge.inference import OnnxModel
    from robohead.edge.postprocess import PostProcessor
    from robohead.edge.predictor import OutputSpec, Predictor

    counts = _counts(cfg, seconds)
    audio = None
    if cfg.audio.features != "none":
        audio = np.zeros(int(seconds * cfg.audio.sampling_rate_hz) + 1, np.float32)
    norm = Normalization.fit(extract_session(cfg, counts[:5000], audio).values, cfg.std_floor)
    model = OnnxModel(model_path)
    spec = OutputSpec(name="motors", kind="motor_targets", labels=("a", "b", "c"), range=(0, 1))
    predictor = Predictor(cfg, norm, model, [spec], input_name=model.input_names[0])
    inference = [0.0]
    run = model.run

    def timed_run(inputs: Any) -> Any:
        t = time.perf_counter()
        out = run(inputs)
        inference[0] += time.perf_counter() - t
        return out

    model.run = timed_run  # type: ignore[method-assign]
    post = PostProcessor(
        motors=3, min_cutoff_hz=1.5, beta=0.5, d_cutoff_hz=1.0, deadband=0.01,
        max_rate_per_s=[4.0, 4.0, 8.0],
    )  # fmt: skip
    per_audio = 0 if audio is None else cfg.audio.sampling_rate_hz * HOP_SAMPLES // 1000
    totals, dsps, infs, posts = [], [], [], []
    for i in range(0, counts.shape[0] - HOP_SAMPLES + 1, HOP_SAMPLES):
        chunk = counts[i : i + HOP_SAMPLES]
        a = None if audio is None else audio[i // HOP_SAMPLES * per_audio :][:per_audio]
        inference[0] = 0.0
        t0 = time.perf_counter()
        pred = predictor.process(chunk, a)
        t1 = time.perf_counter()
        if len(pred):
            post(pred.motors[-1], i / cfg.sampling_rate_hz)
        t2 = time.perf_counter()
        if len(pred):
            totals.append(t2 - t0)
            infs.append(inference[0])
            dsps.append(t1 - t0 - inference[0])
            posts.append(t2 - t1)
    ms = 1e3
    return HopResult(
        channels=cfg.n_channels,
        features=cfg.n_features,
        model=name,
        hops=len(totals),
        total_median_ms=float(np.median(totals) * ms),
        total_p99_ms=float(np.percentile(totals, 99) * ms),
        dsp_median_ms=float(np.median(dsps) * ms),
        inference_median_ms=float(np.median(infs) * ms),
        postprocess_median_ms=float(np.median(posts) * ms),
    )


def _ort_vs_torch(net: Any, model_path: Path, cfg: Any, runs: int) -> dict[str, float]:
    import numpy as np
    import torch

    from robohead.edge.inference import OnnxModel

    torch.set_num_threads(1)
    model = OnnxModel(model_path)
    x = np.random.default_rng(1).standard_normal((1, cfg.context_frames, cfg.n_features))
    x = x.astype(np.float32)
    xt = torch.from_numpy(x)
    with torch.inference_mode():
        diff = float(np.max(np.abs(net(xt).numpy() - model.run1(x))))

    def clock(fn: Any) -> float:
        for _ in range(50):
            fn()
        samples = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t)
        return float(np.median(samples) * 1e3)

    ort_ms = clock(lambda: model.run1(x))
    with torch.inference_mode():
        torch_ms = clock(lambda: net(xt))
    return {
        "onnxruntime_median_ms": ort_ms,
        "torch_eager_median_ms": torch_ms,
        "torch_over_ort": torch_ms / ort_ms,
        "max_abs_diff": diff,
    }


def _rss_kib(pid: int) -> tuple[int, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def _daemon(cfg: Any, bundle: Path, settle_s: float) -> dict[str, float]:
    """Start `robohead-edge run` against a fake device; first command time and memory."""
    from robohead.edge.fakedevice import FakeDevice

    exe = Path(sys.executable).with_name("robohead-edge")
    with tempfile.TemporaryDirectory(prefix="robohead-bench-") as tmp:
        device = FakeDevice(counts=_counts(cfg, 10.0), sampling_rate_hz=int(cfg.sampling_rate_hz))
        device.start()
        conf = Path(tmp) / "edge.toml"
        conf.write_text(
            f'state_dir = "{tmp}/state"\nlog_level = "warning"\n[serial]\nurl = "{device.path}"\n'
            f'[bundle]\ndir = "{bundle}"\nwatch_interval_s = 0\n[mqtt]\nenabled = false\n'
        )
        start = time.monotonic()
        proc = subprocess.Popen([str(exe), "run", "--config", str(conf)])
        try:
            deadline = start + 60
            while not device.commands and time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"the daemon exited with {proc.returncode}")
                time.sleep(0.005)
            if not device.commands:
                raise RuntimeError("no MotorCommand within 60 s")
            first = device.commands[0].at - start
            time.sleep(settle_s)  # let it run steadily before reading its memory
            rss, hwm = _rss_kib(proc.pid)
            n = len(device.commands)
            rate = n / (device.commands[-1].at - device.commands[0].at)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
            device.close()
    return {
        "start_to_first_command_s": first,
        "rss_mib": rss / 1024,
        "peak_rss_mib": hwm / 1024,
        "commands_per_s": rate,
    }


def _machine() -> str:
    cpus = os.cpu_count() or 0
    system = f"{platform.system()} {platform.release()}"
    return f"{platform.machine()}, {cpus} CPUs, {system}, Python {platform.python_version()}"


def bench(
    bundle: Path | None = typer.Option(None, "--bundle", help="Bundle whose features to use."),
    params: Path | None = typer.Option(
        None, "--params", help="params.yaml (default ./params.yaml)."
    ),
    seconds: float = typer.Option(20.0, min=2.0, help="Seconds of synthetic sEMG per config."),
    channels: list[int] = typer.Option([4, 8], "--channels", help="Channel counts to time."),
    runs: int = typer.Option(2000, min=100, help="Inference runs for ORT vs PyTorch."),
    daemon: bool = typer.Option(True, help="Also time the daemon process (start-up, memory)."),
    out: Path | None = typer.Option(None, "--out", help="Write the results as JSON."),
) -> None:
    """Measure the per-hop cost, ONNX Runtime vs PyTorch, the daemon's memory and start-up."""
    report = BenchReport(machine=_machine())
    template = _template(bundle, params)
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
        report.notes.append("torch is not installed: no PyTorch comparison (the edge is lean)")
    with tempfile.TemporaryDirectory(prefix="robohead-bench-") as tmp:
        daemon_bundle: Path | None = bundle
        for n in channels:
            cfg = _with_channels(template, n)
            path = Path(tmp) / f"mlp{n}.onnx"
            if have_torch:
                net = _torch_model(cfg, path)
                report.hop.append(_hop_costs(cfg, path, seconds, "MLP 2x128 (bench)"))
                if report.ort_vs_torch is None:
                    report.ort_vs_torch = {
                        "channels": float(n),
                        **_ort_vs_torch(net, path, cfg, runs),
                    }
                if daemon_bundle is None and n == template.n_channels:
                    daemon_bundle = _bench_bundle(cfg, path, Path(tmp) / "bundle")
            elif bundle is not None and n == template.n_channels:
                from robohead.edge.bundle import load_bundle

                b = load_bundle(bundle)
                report.hop.append(
                    _hop_costs(cfg, b.path / b.manifest.model.file, seconds, "bundle")
                )
            else:
                report.notes.append(f"{n} channels skipped: no torch to build a model for them")
        if daemon and daemon_bundle is not None:
            report.daemon = _daemon(template, daemon_bundle, settle_s=3.0)
        elif daemon:
            report.notes.append("daemon not timed: pass --bundle (no torch to build one)")
    _print(report)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(asdict(report), indent=2) + "\n")
        typer.echo(f"results -> {out}")


def _bench_bundle(cfg: Any, model: Path, out: Path) -> Path:
    from robohead.edge.bundle import GitInfo, MlflowInfo, write_bundle
    from robohead.edge.dsp.extractor import extract_session
    from robohead.edge.dsp.normalize import Normalization
    from robohead.edge.predictor import OutputSpec

    counts = _counts(cfg, 5.0)
    norm = Normalization.fit(extract_session(cfg, counts).values, cfg.std_floor)
    write_bundle(
        out,
        model_file=model,
        features=cfg,
        normalization=norm,
        outputs=[
            OutputSpec(
                name="motors",
                kind="motor_targets",
                labels=("brows", "smile", "jaw"),
                range=(0.0, 1.0),
            )
        ],
        motors=MOTORS,
        poses={"neutral": (0.5, 0.0, 0.0)},
        expressions=(),
        dataset_md5="bench",
        mlflow=MlflowInfo(run_id=None, model_name="bench", model_version=None),
        git=GitInfo(commit="bench", dirty=False),
        golden_raw_emg=counts[:1000],
    )
    return out


def _print(report: BenchReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(120, Console().width))
    console.print(f"[bold]robohead-edge bench[/] on {report.machine}")
    table = Table(
        "channels",
        "F",
        "model",
        "hops",
        "total p50 ms",
        "total p99 ms",
        "DSP p50",
        "inference p50",
        "post p50",
    )
    for h in report.hop:
        table.add_row(
            str(h.channels), str(h.features), h.model, str(h.hops),
            f"{h.total_median_ms:.3f}", f"{h.total_p99_ms:.3f}", f"{h.dsp_median_ms:.3f}",
            f"{h.inference_median_ms:.3f}", f"{h.postprocess_median_ms:.4f}",
        )  # fmt: skip
    console.print(table)
    if report.ort_vs_torch:
        r = report.ort_vs_torch
        console.print(
            f"same model, batch 1, one thread: ONNX Runtime {r['onnxruntime_median_ms']:.4f} ms, "
            f"PyTorch eager {r['torch_eager_median_ms']:.4f} ms -> PyTorch/ORT = "
            f"{r['torch_over_ort']:.2f}x (outputs differ by {r['max_abs_diff']:.1e})"
        )
    if report.daemon:
        d = report.daemon
        console.print(
            f"daemon: first MotorCommand {d['start_to_first_command_s']:.2f} s after start, "
            f"RSS {d['rss_mib']:.0f} MiB (peak {d['peak_rss_mib']:.0f} MiB), "
            f"{d['commands_per_s']:.1f} commands/s"
        )
    for note in report.notes:
        console.print(f"note: {note}")
