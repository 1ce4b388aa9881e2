"""bench/bench_util.py: what the benchmark scripts that compare lowp with a peer share:
running a tool that prints one JSON object, and naming the CPU. Standard library only."""

import json
import subprocess
import sys


def run_json(cmd, who):
    """Runs cmd, returns the JSON object it prints (after any text); exits naming `who` on failure."""
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{who}: {' '.join(cmd)} failed:\n{out.stderr}")
    return json.loads(out.stdout[out.stdout.index("{"):])


def cpu_model_name():
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("Model name")), "?")
