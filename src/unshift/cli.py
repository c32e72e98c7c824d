"""The ``unshift`` command: ``train``, ``eval``, ``select``, ``report`` and ``data``.

Bad input (config, data, run directory) ends with one line ``error: ...`` on stderr and exit
code 2; a loss that turns NaN/Inf ends with exit code 3 and the last good checkpoint kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from unshift import __version__
from unshift.config import RunConfig, load_config
from unshift.errors import ConfigError, RunDirError, TrainingDiverged, UnshiftError
from unshift.runs import RunDir

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3

EPILOG = """examples:
  unshift train configs/moons/dann.yaml --set seed=1 --set data.angle=50
  unshift train configs/moons/dann.yaml --run-dir runs/dann --set trainer.steps=500
  unshift train --resume runs/dann          # continue a killed run
  unshift eval runs/dann
  unshift select runs/dann runs/dann-lr2 --validator im   # runs with trainer.snapshot_every
  unshift report runs/dann --baseline runs/source_only
  unshift data mnist-m --mnist DATA/mnist --photos DATA/photos --out data/mnist_m
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unshift",
        description="Adversarial unsupervised domain adaptation (DANN, ADDA, source-only "
        "baselines).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"unshift {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser(
        "train",
        help="train a model from a YAML config",
        description="Train from a YAML config (see configs/), writing a run directory with the "
        "resolved config, metrics.jsonl, checkpoints, final.json, report.md and, when there is "
        "a target test set (labelled or not), target_test_predictions.csv.",
    )
    train.add_argument("config", nargs="?", help="YAML config file, e.g. configs/moons/dann.yaml")
    train.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config value by its dotted key, e.g. --set seed=2 --set "
        "data.angle=50 (repeatable; values are read as YAML)",
    )
    train.add_argument(
        "--run-dir",
        help="where to write the run (default: a new folder under runs/)",
    )
    train.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its last checkpoint, with its own config; it "
        "ends with the same metrics as an uninterrupted run",
    )

    ev = sub.add_parser(
        "eval",
        help="evaluate a run's final model on its test sets",
        description="Load RUN_DIR's checkpoint, print source/target test accuracy and write "
        "eval.json in RUN_DIR.",
    )
    ev.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by train")
    ev.add_argument(
        "--step",
        type=int,
        metavar="N",
        help="evaluate the snapshot of step N (trainer.snapshot_every) instead of the final model",
    )

    sel = sub.add_parser(
        "select",
        help="rank the snapshots of runs without target labels",
        description="Score every snapshot of every RUN_DIR with a label-free validator (no "
        "target label is read), print them ranked, write selection.json into each run "
        "directory and name the chosen run and step. Where the target test set has labels, the "
        "chosen model's target accuracy is printed beside the choice, marked as not used.",
    )
    sel.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="runs of one task")
    sel.add_argument(
        "--validator",
        help="source_val_acc, entropy, im, bnm, snd, dev, devn or class_ami (default: "
        "unshift.selection.DEFAULT_VALIDATOR; source_val_acc, dev and devn need "
        "data.source_val_fraction > 0 in the runs)",
    )

    rep = sub.add_parser(
        "report",
        help="(re)write a run's report.md and plots",
        description="Write RUN_DIR/report.md with curves, the confusion matrix and, for 2-D "
        "data, decision boundaries.",
    )
    rep.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by train")
    rep.add_argument(
        "--baseline",
        metavar="RUN_DIR",
        help="another run (e.g. source-only) to draw beside this one",
    )

    data = sub.add_parser("data", help="generate datasets", description="Generate datasets.")
    kinds = data.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    mm = kinds.add_parser(
        "mnist-m",
        help="MNIST-M: MNIST digits blended with patches of colour photographs",
        description="Write mnist_m_train.npz / mnist_m_test.npz (uint8 (N, 3, 28, 28) and "
        "labels), README.md naming the photographs used, and montage.png into OUT: every "
        "MNIST digit blended with a random patch of a photograph, |patch - digit| per channel "
        "(DANN paper). Deterministic for a seed.",
    )
    mm.add_argument("--mnist", required=True, metavar="DIR", help="MNIST idx files")
    mm.add_argument("--photos", required=True, metavar="DIR", help="colour photographs")
    mm.add_argument("--out", required=True, metavar="DIR", help="output directory")
    mm.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return parser


def make_data(args: argparse.Namespace) -> int:
    from unshift.data.mnist_m import generate_mnist_m

    written = generate_mnist_m(args.mnist, args.photos, args.out, seed=args.seed)
    for path in written.values():
        print(f"written: {path}")
    return 0


def _default_run_dir(config_path: str | None, cfg: RunConfig) -> Path:
    stem = Path(config_path).stem if config_path else "run"
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{stem}-{cfg.method.name}-seed{cfg.seed}-{stamp}"


def train(args: argparse.Namespace) -> int:
    if args.resume:
        existing = RunDir(args.resume).require(checkpoint=True)
        cfg = load_config(existing.config)
        if args.config or args.overrides:
            asked = load_config(args.config, args.overrides) if args.config else None
            if args.overrides or (asked is not None and asked != cfg):
                raise ConfigError(
                    f"--resume continues {existing.path} with its own config.yaml; drop CONFIG "
                    "and --set (they differ from it)"
                )
        if existing.final.exists():
            steps = existing.read_final().get("steps")
            print(
                f"{existing.path} has finished ({steps} steps): nothing to resume, nothing changed"
            )
            return 0
        run_dir = existing.path
    else:
        if not args.config:
            raise ConfigError("train needs a CONFIG file (or --resume RUN_DIR)")
        cfg = load_config(args.config, args.overrides)
        run_dir = Path(args.run_dir) if args.run_dir else _default_run_dir(args.config, cfg)
        if run_dir.exists() and not run_dir.is_dir():
            raise RunDirError(f"--run-dir {run_dir} is a file; give a directory")
    from unshift.run import run

    result = run(cfg, run_dir, resume=bool(args.resume))
    if result.writer and run_dir is not None:
        final = result.final
        summary = ", ".join(
            f"{k} {final[k]:.4f}" for k in ("source_acc", "target_acc") if k in final
        )
        print(f"{cfg.method.name}: {summary} ({final['steps']} steps, {final['wall_s']:.1f} s)")
        print(f"run directory: {run_dir}\nreport: {RunDir(run_dir).path / 'report.md'}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from unshift.build import build_trainer, load_run

    cfg, data, method = load_run(args.run_dir, args.step)
    trainer = build_trainer(cfg, None)
    scores = trainer.evaluate(method, data)
    name = "eval.json" if args.step is None else f"eval_step_{args.step}.json"
    out = RunDir(args.run_dir).path / name
    out.write_text(json.dumps(scores, indent=2) + "\n")
    for role in ("source", "target"):
        if f"{role}_acc" in scores:
            per_output = scores.get(f"{role}_per_output_acc")
            detail = ""
            if per_output:
                detail = (
                    " (all outputs right; per output "
                    + ", ".join(f"{v:.4f}" for v in per_output)
                    + ")"
                )
            print(f"{role} test accuracy: {scores[f'{role}_acc']:.4f}{detail}")
    print(f"written: {out}")
    return 0


def select(args: argparse.Namespace) -> int:
    from unshift.selection import select as select_runs

    result = select_runs(args.run_dirs, args.validator)
    print(f"{'run':<40} {'step':>8} {result.validator:>12}")
    for s in result.ranked:
        print(f"{s.run:<40} {s.step:>8} {s.score:>12.5f}")
    chosen = result.chosen
    print(f"chosen: {chosen.run} at step {chosen.step} ({result.validator} {chosen.score:.5f})")
    if result.target_acc_not_used is not None:
        print(
            f"target test accuracy of the chosen model: {result.target_acc_not_used:.4f} "
            "(reported only; not used to choose)"
        )
    return 0


def report(args: argparse.Namespace) -> int:
    from unshift.report.report import report_run

    print(f"report: {report_run(args.run_dir, args.baseline)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {
        "train": train,
        "eval": evaluate,
        "select": select,
        "report": report,
        "data": make_data,
    }
    try:
        return commands[args.command](args)
    except UnshiftError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def entry_point() -> None:
    sys.exit(main())
