"""The benchmarks `robohead bench` runs; each returns a `Result` of measured rows + raw data.

Each one measures on this machine, now: nothing is copied from an earlier run. Where another
part of the project owns a benchmark it is run as that part runs it (the protocol's
`run_benchmark`, the firmware's `robohead-fw-bench` and callgrind script, `robohead-edge bench`),
so the numbers here are the same ones their READMEs explain.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "BENCHMARKS",
    "NEEDS_BUNDLE",
    "BenchContext",
    "Result",
    "Row",
    "machine",
]


@dataclass(frozen=True)
class Row:
    group: str
    item: str
    value: float
    unit: str
    note: str = ""

    def text(self) -> str:
        v = self.value
        if not math.isfinite(v):
            return "n/a"
        if abs(v) >= 100 or v == int(v):
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        if abs(v) >= 1:
            return f"{v:.2f}"
        return f"{v:.3g}"


@dataclass
class Result:
    name: str
    rows: list[Row] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class BenchContext:
    root: Path
    bundle: Path  # a verified copy of the champion bundle
    workdir: Path
    quick: bool = False
    sim_seconds: float = 30.0


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    os_name = platform.system()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return {
        "arch": platform.machine(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": os_name,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def _run(
    cmd: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 1800,
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {done.returncode}:\n{(done.stdout + done.stderr)[-2500:]}"
        )
    return done


# --- protocol (shared/bench) -------------------------------------------------------------------


def protocol(ctx: BenchContext) -> Result:
    from robohead.protocol.bench import run_benchmark

    raw = run_benchmark(batch=300, repeats=3) if ctx.quick else run_benchmark()
    d, w = raw["decode_us"], raw["wire"]
    g = "protocol decode (Python)"
    rows = [
        Row(g, "EmgFrame 10x8, framing + parse + numpy", d["frame_10x8_total_us"], "us/frame"),
        Row(g, "  of which COBS + CRC", d["framing_cobs_crc_us"], "us/frame"),
        Row(g, "  of which protobuf parse", d["protobuf_parse_us"], "us/frame"),
        Row(g, "frames per second, one core", d["frames_per_second_one_core"], "frames/s"),
        Row(
            "protocol wire",
            "10 samples x 4 ch: sample bytes / wire bytes",
            w["10x4"]["samples_per_wire"],
            "ratio",
            f"{w['10x4']['wire_bytes']} B on the wire",
        ),
        Row(
            "protocol wire",
            "10 samples x 8 ch: sample bytes / wire bytes",
            w["10x8"]["samples_per_wire"],
            "ratio",
            f"{w['10x8']['wire_bytes']} B on the wire",
        ),
        Row(
            "protocol wire",
            "link load at 1 kHz x 4 ch, 921600 baud",
            raw["capacity"]["default_1khz_4ch_link_load"] * 100,
            "%",
        ),
    ]
    return Result("protocol", rows, raw)


# --- firmware (firmware-esp32/bench) -----------------------------------------------------------


def firmware(ctx: BenchContext) -> Result:
    build = ctx.root / "firmware-esp32" / "build" / "host"
    _run(["cmake", "--build", str(build), "--target", "robohead-fw-bench", "-j", "2"], timeout=900)
    exe = build / "robohead-fw-bench"
    samples = 20_000 if ctx.quick else 200_000
    wall = []
    for _ in range(3 if ctx.quick else 5):
        out = _run([str(exe), "--samples", str(samples)]).stdout
        m = re.search(r"([\d.]+) ns per sample", out)
        if not m:
            raise RuntimeError(f"robohead-fw-bench: no 'ns per sample' in {out!r}")
        wall.append(float(m.group(1)))
    rows = [
        Row(
            "firmware core (host build)",
            "Device::poll() hot path per sEMG sample (4 ch x8)",
            float(np.median(wall)),
            "ns/sample",
            f"median of {len(wall)} runs, wall clock",
        )
    ]
    raw: dict[str, Any] = {"ns_per_sample_runs": wall, "samples": samples}
    script = ctx.root / "firmware-esp32" / "scripts" / "callgrind_cost.sh"
    if shutil.which("valgrind") and script.is_file():
        out = _run(["bash", str(script), str(build), "20000"], timeout=900).stdout
        m = re.search(r"= (\d+) instructions per sample", out)
        if m:
            rows.append(
                Row(
                    "firmware core (host build)",
                    "instructions per sEMG sample (callgrind)",
                    float(m.group(1)),
                    "instr/sample",
                    "x86-64; rv32 differs",
                )
            )
            raw["callgrind_instructions_per_sample"] = int(m.group(1))
    return Result("firmware", rows, raw)


# --- edge per hop (robohead-edge bench, and the champion through the Predictor) ----------------


def edge(ctx: BenchContext) -> Result:
    from robohead.edge.bundle import load_bundle
    from robohead.edge.dsp.bench import bench_predictor

    out = ctx.workdir / "edge-bench.json"
    exe = str(Path(sys.executable).with_name("robohead-edge"))
    seconds = "5" if ctx.quick else "20"
    _run(
        [
            exe,
            "bench",
            "--bundle",
            str(ctx.bundle),
            "--seconds",
            seconds,
            "--runs",
            "300" if ctx.quick else "2000",
            "--out",
            str(out),
        ],
        timeout=1800,
    )
    raw: dict[str, Any] = json.loads(out.read_text())
    rows: list[Row] = []
    g = "edge per hop (10 ms of sEMG)"
    for h in raw.get("hop", []):
        label = f"{h['channels']} ch, {h['model']}"
        parts = (
            f"DSP {h['dsp_median_ms']:.3f}, inference {h['inference_median_ms']:.3f}, "
            f"post {h['postprocess_median_ms']:.4f} ms"
        )
        rows.append(Row(g, f"{label}: median", h["total_median_ms"], "ms", parts))
        rows.append(Row(g, f"{label}: p99", h["total_p99_ms"], "ms", f"{h['hops']} hops"))
    bundle = load_bundle(ctx.bundle)
    stream = bench_predictor(bundle.predictor(), seconds=5.0 if ctx.quick else 20.0, chunk=10)
    raw["champion_predictor"] = stream.__dict__
    m = bundle.manifest
    name = f"champion v{m.mlflow.model_version or '?'} ({m.features.n_channels} ch)"
    rows.append(Row(g, f"{name}, DSP + ONNX: median", stream.median_us / 1000, "ms"))
    rows.append(Row(g, f"{name}, DSP + ONNX: p99", stream.p99_us / 1000, "ms"))
    d = raw.get("daemon")
    if d:
        rows.append(
            Row("edge daemon", "start to first MotorCommand", d["start_to_first_command_s"], "s")
        )
        rows.append(Row("edge daemon", "resident memory (peak)", d["peak_rss_mib"], "MiB"))
    return Result("edge", rows, raw)


# --- inference: ONNX Runtime vs PyTorch eager vs TorchScript ----------------------------------


def _architecture(ctx: BenchContext, logged: dict[str, str]) -> tuple[Any, str]:
    """An untrained nn.Module for the bundle's input shape: the architecture its MLflow run
    logged (`model.*`), else params.yaml's `model` section."""
    import torch

    from robohead.edge.bundle import load_bundle
    from robohead.host.models.nets import build_model
    from robohead.host.train_params import read_params_file, training_params

    m = load_bundle(ctx.bundle).manifest
    params_file = ctx.root / "params.yaml"
    mp = training_params(read_params_file(params_file), params_file).model
    arch: dict[str, Any] = {
        "arch": mp.arch,
        "hidden": mp.hidden,
        "layers": mp.layers,
        "kernel_size": mp.kernel_size,
        "dropout": mp.dropout,
    }
    source = "params.yaml"
    if all(f"model.{k}" in logged for k in arch):
        cast: dict[str, Callable[[str], Any]] = {
            "arch": str,
            "hidden": int,
            "layers": int,
            "kernel_size": int,
            "dropout": float,
        }
        arch = {k: cast[k](logged[f"model.{k}"]) for k in arch}
        source = "its MLflow run"
    torch.manual_seed(0)
    net = build_model(
        arch["arch"],
        frames=m.features.context_frames,
        features=m.features.n_features,
        motors=len(m.motors),
        classes=len(m.expressions),
        hidden=int(arch["hidden"]),
        layers=int(arch["layers"]),
        kernel_size=int(arch["kernel_size"]),
        dropout=float(arch["dropout"]),
    ).eval()
    return net, f"{arch['arch']} (architecture from {source})"


def _champion_torch(ctx: BenchContext) -> tuple[Any, str]:
    """The bundle's own trained model as a plain (eager) nn.Module: the architecture its run
    logged with the weights of the registry version the bundle names (MLflow stores an exported
    graph, which is not eager PyTorch); untrained weights, said so, when those are missing."""
    from robohead.edge.bundle import load_bundle

    m = load_bundle(ctx.bundle).manifest
    name, version, run_id = m.mlflow.model_name, m.mlflow.model_version, m.mlflow.run_id
    logged: dict[str, str] = {}
    try:
        import mlflow

        from robohead.host.tracking import tracking_uri

        uri = tracking_uri(ctx.root)
        mlflow.set_tracking_uri(uri)
        if run_id:
            logged = dict(mlflow.MlflowClient(uri).get_run(run_id).data.params)
        net, arch = _architecture(ctx, logged)
        if not (name and version):
            return net, f"{arch}, untrained weights: the bundle names no registry version"
        stored = mlflow.pytorch.load_model(f"models:/{name}/{version}")
        state = {k.removeprefix("inner."): v for k, v in stored.state_dict().items()}
        net.load_state_dict(state, strict=True)
    except Exception as exc:  # measure the architecture anyway, and say why
        net, arch = _architecture(ctx, logged)
        return net, f"{arch}, untrained weights ({type(exc).__name__}: {str(exc)[:200]})"
    return net.eval(), f"{name} v{version}: {arch}, registry weights"


def inference(ctx: BenchContext) -> Result:
    import onnxruntime as ort
    import torch

    from robohead.edge.bundle import load_bundle

    torch.set_num_threads(1)
    bundle = load_bundle(ctx.bundle)
    m = bundle.manifest
    net, source = _champion_torch(ctx)
    k, f = m.features.context_frames, m.features.n_features
    x = np.random.default_rng(7).standard_normal((1, k, f)).astype(np.float32)
    xt = torch.from_numpy(x)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    onnx_path = bundle.path / m.model.file
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: x}
    with torch.inference_mode():
        traced = torch.jit.trace(net, xt)  # type: ignore[no-untyped-call]
        traced = torch.jit.freeze(traced)

    def first(out: Any) -> np.ndarray:
        t = out[0] if isinstance(out, (tuple, list)) else out
        return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t)[..., :3]

    with torch.inference_mode():
        ref = first(net(xt))
        diffs = {
            "torchscript": float(np.max(np.abs(first(traced(xt)) - ref))),
            "onnxruntime": float(np.max(np.abs(first(sess.run(None, feed)) - ref))),
        }
    engines: dict[str, Callable[[], Any]] = {
        "onnxruntime": lambda: sess.run(None, feed),
        "torch_eager": lambda: net(xt),
        "torchscript": lambda: traced(xt),
    }
    rounds, per = (10, 50) if ctx.quick else (20, 200)
    times: dict[str, list[float]] = {name: [] for name in engines}
    with torch.inference_mode():
        for fn in engines.values():  # warm-up
            for _ in range(50):
                fn()
        for _ in range(rounds):  # interleaved, so drift and load hit every engine alike
            for name, fn in engines.items():
                for _ in range(per):
                    t0 = time.perf_counter()
                    fn()
                    times[name].append(time.perf_counter() - t0)
    med = {name: float(np.median(v) * 1e6) for name, v in times.items()}
    p99 = {name: float(np.percentile(v, 99) * 1e6) for name, v in times.items()}
    with tempfile.TemporaryDirectory() as tmp:
        ts_path = Path(tmp) / "model.pt"
        with torch.inference_mode():
            torch.jit.trace(net, xt).save(str(ts_path))  # type: ignore[no-untyped-call]
        ts_bytes = ts_path.stat().st_size
    onnx_bytes = onnx_path.stat().st_size
    g = "inference, batch 1, one thread"
    base = med["onnxruntime"]
    rows = [
        Row(g, "ONNX Runtime median", base, "us", f"p99 {p99['onnxruntime']:.0f} us"),
        Row(
            g,
            "PyTorch eager median",
            med["torch_eager"],
            "us",
            f"{med['torch_eager'] / base:.2f}x ONNX Runtime; p99 {p99['torch_eager']:.0f} us",
        ),
        Row(
            g,
            "TorchScript (traced, frozen) median",
            med["torchscript"],
            "us",
            f"{med['torchscript'] / base:.2f}x ONNX Runtime; p99 {p99['torchscript']:.0f} us",
        ),
        Row("model file", "ONNX (model.onnx)", onnx_bytes / 1024, "KiB"),
        Row(
            "model file",
            "TorchScript (traced .pt)",
            ts_bytes / 1024,
            "KiB",
            f"{ts_bytes / onnx_bytes:.2f}x the ONNX file",
        ),
    ]
    raw = {
        "model": source,
        "input": [1, k, f],
        "median_us": med,
        "p99_us": p99,
        "calls_per_engine": rounds * per,
        "max_abs_diff_vs_eager": diffs,
        "onnx_bytes": onnx_bytes,
        "torchscript_bytes": ts_bytes,
        "ratio_eager_over_ort": med["torch_eager"] / base,
        "ratio_torchscript_over_ort": med["torchscript"] / base,
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
    }
    return Result("inference", rows, raw)


# --- loop latency (a short `robohead sim` run) --------------------------------------------------


def _sim_run(ctx: BenchContext, seconds: float, index: int) -> tuple[Any, Any, Any, float]:
    """One headless `robohead sim` run: (PWM log up to the edge's stop, last Metrics, Scenario,
    pose tolerance)."""
    from robohead.host.monitor.client import BrokerOptions, MonitorClient
    from robohead.host.monitor.state import MonitorState
    from robohead.host.sim.analysis import read_pwm_log
    from robohead.host.sim.loop import SimLoop
    from robohead.host.sim.settings import load_sim_settings

    settings, root = load_sim_settings(ctx.root / "params.yaml")
    sim = SimLoop(
        settings,
        root,
        workdir=ctx.workdir / f"sim-{index}",
        bundle=ctx.bundle,
        audio_loop_s=seconds + 30,
    )
    metrics = None
    try:
        sim.start()
        state = MonitorState(broker=f"127.0.0.1:{sim.port}", device=sim.device_id)
        with MonitorClient(BrokerOptions("127.0.0.1", sim.port), state):
            deadline = time.monotonic() + seconds
            sim.sup.wait_until(
                lambda: time.monotonic() >= deadline,
                seconds + 5,
                "the run",
                watch=["edge", "fw-sim", "broker"],
            )
            view = state.selected()
            metrics = view.metrics if view is not None else None
    finally:
        sim.stop()
    log = read_pwm_log(sim.paths.pwm_log)
    if sim.edge_stopped_at_us is not None:
        log = log.between(0, sim.edge_stopped_at_us)
    return log, metrics, sim.scenario, settings.pose_tolerance


def loop(ctx: BenchContext) -> Result:
    """Loop latency over a few short simulated runs: within a run it is nearly constant (the
    edge's free-running 50 Hz command slot and the servo tick keep a fixed phase to the frame
    stream), so several runs sample that phase; the rows pool every command of every run."""
    from robohead.edge.bundle import load_bundle
    from robohead.host.sim.analysis import (
        PwmLog,
        controller_delays,
        loop_latency,
        pose_checks,
        servo_limits_from_params,
    )

    runs = 1 if ctx.quick else 3
    seconds = 12.0 if ctx.quick else max(ctx.sim_seconds / runs, 15.0)
    logs, per_run, processing, checks, stages_runs = [], [], [], [], []
    limits = servo_limits_from_params(ctx.root / "params.yaml")
    for index in range(runs):
        log, metrics, scenario, tolerance = _sim_run(ctx, seconds, index)
        lat = loop_latency(log)
        if lat.n == 0:
            raise RuntimeError(f"run {index}: no windowed MotorCommand reached the simulator")
        logs.append(log)
        per_run.append(lat.as_dict())
        if metrics is not None:
            stages = {
                k: {"p50_ms": v.p50_ms, "p99_ms": v.p99_ms, "max_ms": v.max_ms}
                for k, v in metrics.stage_latency.items()
            }
            stages_runs.append(stages)
            if "total" in stages:
                processing.append(stages["total"]["p50_ms"])
        if scenario is not None:
            checks += pose_checks(log, scenario, limits, tolerance=tolerance)
    pooled = PwmLog(
        np.concatenate([g.time_us for g in logs]),
        np.concatenate([g.servo_us for g in logs]),
        np.concatenate([g.latency_us for g in logs]),
    )
    lat = loop_latency(pooled)
    tick_ms = float(np.median([g.tick_us for g in logs])) / 1000
    proc = float(np.median(processing)) if processing else 0.0
    feats = load_bundle(ctx.bundle).manifest.features
    audio_ms = feats.audio.window_ms if feats.audio.features != "none" else None
    delays = controller_delays(
        emg_window_ms=feats.window_ms,
        audio_window_ms=audio_ms,
        loop_p50_ms=lat.p50_ms,
        processing_p50_ms=proc,
        servo_period_ms=tick_ms,
    )
    pose_delays = [c.delay_s * 1000 for c in checks if math.isfinite(c.delay_s)]
    g = "loop latency (simulator clock)"
    run_p50 = ", ".join(f"{r['p50_ms']:.1f}" for r in per_run)
    rows = [
        Row(g, "p50", lat.p50_ms, "ms",
            f"{lat.n} commands, {runs} runs x {seconds:.0f} s (p50 per run: {run_p50} ms); "
            "window's last sample -> its command's arrival in the device"),
        Row(g, "p99", lat.p99_ms, "ms"),
        Row(g, "max", lat.max_ms, "ms"),
    ]  # fmt: skip
    for d in delays:
        rows.append(
            Row(
                "felt controller delay",
                d.path,
                d.total_ms,
                "ms",
                f"{d.half_window_ms:.0f} half window + {d.processing_ms:.1f} processing + "
                f"{d.transport_ms:.1f} transport + {d.servo_period_ms:.0f} servo",
            )
        )
    if pose_delays:
        reached = sum(c.reached for c in checks)
        rows.append(
            Row(
                "felt controller delay",
                "measured: pose half-way behind ground truth",
                float(np.median(pose_delays)),
                "ms",
                f"median of {len(pose_delays)} expression onsets ({reached}/{len(checks)} poses "
                "reached); incl. smoothing, slew and the model's own response",
            )
        )
    raw = {
        "latency": lat.as_dict(),
        "per_run": per_run,
        "edge_stage_latency": stages_runs,
        "servo_tick_ms": tick_ms,
        "controller_delays": [d.as_dict() for d in delays],
        "poses": [c.__dict__ for c in checks],
        "seconds_per_run": seconds,
    }
    return Result("loop", rows, raw)


# --- make train warm vs cold --------------------------------------------------------------------


def train(ctx: BenchContext) -> Result:
    """`dvc repro` (what `make train` runs) in a fresh `git clone` of HEAD, reusing this venv:
    cold (no data, no DVC/ZenML cache, no MLflow store), then warm twice: unchanged (DVC skips
    every stage) and a forced train stage (data in place, ZenML step cache and stores warm)."""
    venv_bin = Path(sys.executable).parent
    clone = ctx.workdir / "train-clone"
    if clone.exists():
        shutil.rmtree(clone)
    _run(["git", "clone", "--quiet", "--no-hardlinks", str(ctx.root), str(clone)], timeout=600)
    code = [clone / "shared", clone / "edge-rpi", clone / "host"]
    env = {
        **os.environ,
        "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
        # The clone's own sources first, ahead of the venv's editable install of this checkout.
        "PYTHONPATH": os.pathsep.join(str(p) for p in code),
        "ROBOHEAD_PARAMS": str(clone / "params.yaml"),
    }
    env.pop("MLFLOW_TRACKING_URI", None)  # the clone tracks into its own mlflow.db
    check = _run(
        [sys.executable, "-c", "import robohead.host, sys; print(robohead.host.__file__)"],
        env=env,
        cwd=clone,
    ).stdout.strip()
    if not check.startswith(str(clone)):
        raise RuntimeError(f"the clone's code is not the one imported: {check}")
    dvc = str(venv_bin / "dvc")
    timings: dict[str, float] = {}
    for name, cmd in (
        ("cold", [dvc, "repro"]),
        ("warm_unchanged", [dvc, "repro"]),
        ("warm_forced_train", [dvc, "repro", "--force", "train"]),
    ):
        t0 = time.perf_counter()
        _run(cmd, cwd=clone, env=env, timeout=3600)
        timings[name] = time.perf_counter() - t0
    commit = _run(["git", "-C", str(clone), "rev-parse", "--short", "HEAD"]).stdout.strip()
    shutil.rmtree(clone, ignore_errors=True)
    g = "make train (dvc repro)"
    note = f"fresh git clone of {commit}, this venv"
    rows = [
        Row(g, "cold: synth data, ZenML init, train, export, register", timings["cold"], "s", note),
        Row(g, "warm, nothing changed (DVC skips every stage)", timings["warm_unchanged"], "s"),
        Row(
            g,
            "warm, train stage forced (ZenML cache, stores exist)",
            timings["warm_forced_train"],
            "s",
            f"cold/warm = {timings['cold'] / timings['warm_forced_train']:.1f}x",
        ),
    ]
    return Result("train", rows, {"seconds": timings, "commit": commit})


#: The benchmarks that measure the champion bundle (the others need none).
NEEDS_BUNDLE = frozenset({"edge", "inference", "loop"})

BENCHMARKS: dict[str, Callable[[BenchContext], Result]] = {
    "protocol": protocol,
    "firmware": firmware,
    "edge": edge,
    "inference": inference,
    "loop": loop,
    "train": train,
}
