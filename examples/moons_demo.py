"""`make demo`: source-only and DANN on rotated two moons (35°), seeded, with a report.

Runs ``unshift train`` on ``configs/moons/source_only.yaml`` and ``configs/moons/dann.yaml``,
prints the target accuracy of both and the path of the DANN report, whose decision-boundary
plot puts the source-only model beside DANN. Extra arguments go to both runs, e.g.
``python examples/moons_demo.py --set seed=1 --set data.angle=50``. ``runs/demo/`` belongs to
the demo: every run replaces it (``unshift train`` itself never replaces a run).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import torch

from unshift.cli import main as unshift

ROOT = Path(__file__).resolve().parents[1]
RUNS = Path("runs") / "demo"


def main(extra: list[str]) -> int:
    torch.set_num_threads(1)  # these MLPs are too small to gain from a second thread
    finals = {}
    for name in ("source_only", "dann"):
        run_dir = RUNS / name
        shutil.rmtree(run_dir, ignore_errors=True)  # the demo's own folder, remade every time
        args = [
            "train",
            str(ROOT / "configs" / "moons" / f"{name}.yaml"),
            "--run-dir",
            str(run_dir),
        ]
        if name == "dann":
            args += ["--set", f"report.baseline={RUNS / 'source_only'}"]
        code = unshift([*args, *extra])
        if code != 0:
            return code
        finals[name] = json.loads((run_dir / "final.json").read_text())
    print("\nRotated two moons, target test accuracy (last iterate, no target labels used):")
    print(f"| {'method':<12} | target acc | source acc | seconds |")
    print(f"|{'-' * 14}|{'-' * 12}|{'-' * 12}|{'-' * 9}|")
    for name, final in finals.items():
        print(
            f"| {name:<12} | {final['target_acc']:>10.4f} | {final['source_acc']:>10.4f} "
            f"| {final['wall_s']:>7.1f} |"
        )
    print(f"\nreport: {RUNS / 'dann' / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
