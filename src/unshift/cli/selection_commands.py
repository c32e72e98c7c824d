"""``unshift select`` and ``unshift tune``: choosing runs and config values without labels."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from unshift.cli.exits import EXIT_INTERRUPTED, EXIT_TERMINATED, Interrupted, Terminated
from unshift.core.plugins import environment_plugins


def select(args: argparse.Namespace) -> int:
    from unshift.runs.selection import select as select_runs

    result = select_runs(args.run_dirs, args.validator)
    if result.warning:
        print(f"warning: {result.warning}", file=sys.stderr)
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


def tune(args: argparse.Namespace) -> int:
    from unshift.core.errors import ConfigError
    from unshift.runs.search_space import parse_candidates, parse_space
    from unshift.runs.tune import tune as run_tune

    if bool(args.space) == bool(args.candidates):
        raise ConfigError(
            "tune needs --space KEY=V1,V2,... or --candidate '{KEY: V, ...}' (one kind)"
        )
    space = parse_space(args.space) if args.space else parse_candidates(args.candidates)

    overrides = [*args.overrides, *([f"seed={args.seed}"] if args.seed is not None else [])]
    try:
        result = run_tune(
            args.config,
            space,
            args.out,
            overrides=overrides,
            plugins=[*environment_plugins(), *args.plugins],
            validator=args.validator,
            trials=args.trials,
        )
    except KeyboardInterrupt as err:
        code = EXIT_TERMINATED if isinstance(err, Terminated) else EXIT_INTERRUPTED
        raise Interrupted(
            "stopped; run the same command again to resume (finished trials are kept)", code
        ) from None
    chosen = result.chosen
    assert chosen is not None and result.best is not None
    print(f"chosen: trial {chosen.index} ({result.validator} {chosen.score:.5f}) → {result.best}")
    accs = [t.target_acc_not_used for t in result.trials if t.target_acc_not_used is not None]
    if accs:
        print("target test accuracy (reported only; not used to choose):")
        for t in result.trials:
            if t.target_acc_not_used is not None:
                mark = "  <- chosen" if t is chosen else ""
                print(f"  trial {t.index}: {t.target_acc_not_used:.4f}{mark}")
    print(f"table: {Path(args.out) / 'tune.md'}")
    return 0
