"""Time `planlib plan` on the sample company: a cold run (empty stage cache) and a warm one.

    .venv/bin/python benchmarks/plan.py [--config templates/plan.yaml] [--runs 1]

Each run writes a bundle into a temporary folder (the config is copied there with its data
paths made absolute), so reports/ is left alone. The goal is under 60 s for a cold run.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 60.0


def _copy_config(config: Path, folder: Path) -> Path:
    """Write the config into ``folder`` with absolute data paths and output_dir = folder/reports."""
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    for source in (raw.get("data") or {}).values():
        if isinstance(source, dict) and source.get("path"):
            source["path"] = str((config.parent / source["path"]).resolve())
    report = raw.setdefault("report", {})
    notebooks_dir = report.get("notebooks_dir")
    report["notebooks_dir"] = str((config.parent / notebooks_dir).resolve() if notebooks_dir else ROOT / "notebooks")
    report["output_dir"] = str(folder / "reports")
    out = folder / "plan.yaml"
    out.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def _time_plan(config: Path) -> tuple[float, float]:
    """Run `planlib plan` once; return (wall seconds, CPU seconds of it and its kernels and workers)."""
    planlib = Path(sys.executable).parent / "planlib"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([str(planlib), "plan", "--config", str(config), "--quiet"], capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"planlib plan failed:\n{done.stderr}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "templates" / "plan.yaml"))
    parser.add_argument("--runs", type=int, default=1, help="cold and warm runs each (the best is reported)")
    args = parser.parse_args(argv)
    config = Path(args.config).resolve()
    notebooks = yaml.safe_load(config.read_text(encoding="utf-8"))["report"]["notebooks"]
    cold, warm = [], []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="planlib-bench-") as tmp:
        folder = Path(tmp)
        copy = _copy_config(config, folder)
        for _ in range(args.runs):
            shutil.rmtree(folder / "reports", ignore_errors=True)
            cold.append(_time_plan(copy))  # empty cache: every stage is computed
            warm.append(_time_plan(copy))  # the stages come from <output_dir>/.cache
        bundles = sorted(p.name for p in (folder / "reports").glob("FY*/v*"))
    print(f"planlib plan on {config.relative_to(ROOT) if config.is_relative_to(ROOT) else config}: "
          f"{len(notebooks)} notebook(s) ({', '.join(notebooks)})")
    (cold_wall, cold_cpu), (warm_wall, warm_cpu) = min(cold), min(warm)
    print(f"  cold cache: {cold_wall:6.1f} s wall, {cold_cpu:6.1f} s CPU   (goal: under {GOAL_SECONDS:.0f} s wall: "
          f"{'met' if cold_wall < GOAL_SECONDS else 'NOT met'})")
    print(f"  warm cache: {warm_wall:6.1f} s wall, {warm_cpu:6.1f} s CPU")
    # Wall time on a busy machine says little: the load average and core count put it in context.
    print(f"  machine: {os.cpu_count()} core(s), load average {load_before:.1f} before and "
          f"{os.getloadavg()[0]:.1f} after")
    print(f"  bundles written per cold+warm pair: {len(bundles) // args.runs} (last: {bundles[-1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
