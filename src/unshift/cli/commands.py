"""The ``unshift`` command: train, eval, predict, select, tune, report, configs and data.

Exit codes: 0 done; 2 bad input (config, data, run directory, a file that cannot be read or
written), one line ``error: ...`` on stderr; 3 a loss turned NaN/Inf (the last good checkpoint
is kept); 130 interrupted (Ctrl-C) and 143 terminated (SIGTERM), with the ``--resume`` line;
1 only for a bug (a traceback).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from unshift.cli.arguments import build_parser
from unshift.cli.exits import (
    EXIT_BAD_INPUT,
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    Interrupted,
    Terminated,
)
from unshift.cli.selection_commands import select, tune
from unshift.core.errors import ConfigError, RunDirError, TrainingDiverged, UnshiftError
from unshift.core.files import RunDir
from unshift.core.plugins import environment_plugins, load_plugins
from unshift.training.config import RunConfig, load_config, resolve_paths


def make_data(args: argparse.Namespace) -> int:
    if args.dataset == "export-folders":
        from unshift.data.export import export_folders

        written = export_folders(args.name, args.dir, args.out, args.max)
    else:
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
    plugins = [*environment_plugins(), *args.plugins]
    if args.allow_changed and not args.resume:
        raise ConfigError("--allow-changed goes with --resume RUN_DIR")
    if args.resume:
        existing = RunDir(args.resume).require(checkpoint=True)
        cfg = load_config(existing.config)
        if args.config or args.overrides or args.plugins:
            asked = (
                resolve_paths(load_config(args.config, args.overrides, plugins))
                if args.config
                else None
            )
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
        cfg = load_config(args.config, args.overrides, plugins)
        run_dir = Path(args.run_dir) if args.run_dir else _default_run_dir(args.config, cfg)
        if run_dir.exists() and not run_dir.is_dir():
            raise RunDirError(f"--run-dir {run_dir} is a file; give a directory")
    from unshift.runs.run import run

    try:
        result = run(
            cfg,
            run_dir,
            resume=bool(args.resume),
            allow_changed=tuple(args.allow_changed),
            overwrite=args.overwrite,
        )
    except KeyboardInterrupt as err:
        code = EXIT_TERMINATED if isinstance(err, Terminated) else EXIT_INTERRUPTED
        how = "terminated" if code == EXIT_TERMINATED else "interrupted"
        if RunDir(run_dir).checkpoint.exists():
            raise Interrupted(
                f"{how}; continue from the last checkpoint with: unshift train --resume {run_dir}",
                code,
            ) from None
        raise Interrupted(f"{how} before the first checkpoint; nothing to resume", code) from None
    if result.replaced is not None:
        print(f"the earlier run in {run_dir} was moved to {result.replaced}")
    if result.writer and run_dir is not None:
        final = result.final
        summary = ", ".join(
            f"{k} {final[k]:.4f}" for k in ("source_acc", "target_acc") if k in final
        )
        print(f"{cfg.method.name}: {summary} ({final['steps']} steps, {final['wall_s']:.1f} s)")
        print(f"run directory: {run_dir}\nreport: {RunDir(run_dir).path / 'report.md'}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from unshift.training.build import build_trainer, load_run

    cfg, data, method = load_run(args.run_dir, args.step)
    trainer = build_trainer(cfg, None)
    scores = trainer.evaluate(method, data)
    name = "eval.json" if args.step is None else f"eval_step_{args.step}.json"
    out = RunDir(args.run_dir).path / name
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
            split = scores.get("source_split", "test") if role == "source" else "test"
            print(f"{role} {split} accuracy: {scores[f'{role}_acc']:.4f}{detail}")
    try:
        out.write_text(json.dumps(scores, indent=2) + "\n")
    except OSError as err:
        raise RunDirError(
            f"the accuracies above were not saved: cannot write {out} ({err.strerror})"
        ) from None
    print(f"written: {out}")
    return 0


def predict(args: argparse.Namespace) -> int:
    from unshift.runs.predict import predict_file

    out = Path(args.out) if args.out else RunDir(args.run_dir).path / "predictions.csv"
    print(f"written: {predict_file(args.run_dir, args.data, out, args.step, args.non_finite)}")
    return 0


def export(args: argparse.Namespace) -> int:
    from unshift.runs.export import FORMATS
    from unshift.runs.predict import load_model

    run = RunDir(args.run_dir)
    out = Path(args.out) if args.out else run.path / f"model{FORMATS[args.format]}"
    print(f"written: {load_model(run.path, args.step).export(out, args.format)}")
    return 0


def configs(args: argparse.Namespace) -> int:
    from unshift.training.config import CONFIG_DIR, packaged_configs

    names = packaged_configs()
    if args.configs_command is None:
        print("\n".join(names))
        return 0
    name = args.name.removesuffix(".yaml")
    if name not in names:
        raise ConfigError(f"no packaged config {args.name!r}; `unshift configs` lists them")
    print((CONFIG_DIR / f"{name}.yaml").read_text(), end="")
    return 0


def report(args: argparse.Namespace) -> int:
    from unshift.report.report import report_run

    print(f"report: {report_run(args.run_dir, args.baseline)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if threading.current_thread() is not threading.main_thread():
        return _dispatch(args)  # only the main thread may handle signals
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _dispatch(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def _dispatch(args: argparse.Namespace) -> int:
    commands = {
        "train": train,
        "eval": evaluate,
        "select": select,
        "tune": tune,
        "report": report,
        "predict": predict,
        "export": export,
        "configs": configs,
        "data": make_data,
    }
    try:
        load_plugins(environment_plugins())
        return commands[args.command](args)
    except UnshiftError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_DIVERGED
    except Interrupted as err:
        print(f"error: {err}", file=sys.stderr)
        return err.code
    except OSError as err:
        print(f"error: {err.strerror or err}: {err.filename}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as err:
        print("terminated" if isinstance(err, Terminated) else "interrupted", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(err, Terminated) else EXIT_INTERRUPTED


class QuietPipe:
    """Standard output that falls silent when its reader leaves (``unshift eval RUN | head``):
    the command still finishes its work and writes its files; what it would have printed goes
    nowhere, and no ``Broken pipe`` error is raised. Everything else is the stream's own."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            self._silence()
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._silence()

    def _silence(self) -> None:
        # Later writes, and the interpreter's own flush at exit, go to /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.stream.fileno())
        os.close(devnull)


def entry_point() -> None:
    sys.stdout = QuietPipe(sys.stdout)
    sys.exit(main())
