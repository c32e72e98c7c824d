"""``unshift tune``: a label-free search over config values.

Each trial is an ordinary run directory (``<out>/trial-NNN``) trained from the config with one
setting of the searched keys; its last iterate is scored by a validator
(:data:`unshift.runs.validators.VALIDATORS`), which reads no target label. The trial with the
highest score is chosen and written as a ready config (``best.yaml``) beside ``tune.json`` (every
trial's settings, score and state) and ``tune.md``. Target test accuracy, where the test set has
labels, is recorded for the reader beside each trial and shown only once the choice is on disk.

The search is the whole grid, or, with ``trials`` smaller than the grid, that many trials drawn by
Optuna's TPE sampler (the ``[tune]`` extra); or each of a list of settings (candidates,
:mod:`unshift.runs.search_space`). ``tune.json`` is rewritten after every trial, so a killed
search run again with the same command keeps its finished trials (a trial killed midway continues
from its last checkpoint); a trial that fails (a NaN loss, a bad value) is recorded as failed and
the search goes on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from unshift.core.errors import ConfigError, RunDirError, TrainingDiverged, UnshiftError
from unshift.core.files import RunDir, atomic_write, write_json
from unshift.runs.search_space import grid
from unshift.training.config import RunConfig, load_config, resolve_paths, to_dict, to_yaml

TUNE_JSON = "tune.json"
TUNE_MD = "tune.md"
BEST = "best.yaml"
DONE, FAILED = "done", "failed"


def _overrides(settings: dict[str, Any]) -> list[str]:
    return [f"{k}={json.dumps(v)}" for k, v in settings.items()]


@dataclass
class Trial:
    """One trial: its settings of the searched keys, run directory, state (``done`` or
    ``failed``), validator score (higher is better), error, the target test accuracy (reported,
    never used) and seconds."""

    index: int
    settings: dict[str, Any]
    run_dir: str
    status: str
    score: float | None = None
    error: str | None = None
    target_acc_not_used: float | None = None
    wall_s: float = 0.0


@dataclass
class TuneResult:
    """The search: every trial in order, the chosen one, and where ``best.yaml`` is."""

    validator: str
    trials: list[Trial] = field(default_factory=list)
    chosen: Trial | None = None
    best: Path | None = None


@dataclass
class Search:
    """What defines a search; a ``tune.json`` written by another one is not resumed."""

    config: str
    space: dict[str, list[Any]] | list[dict[str, Any]]
    validator: str
    base: str
    """The resolved config before the searched keys, as YAML."""
    trials: int | None


class Tuner:
    """Runs the trials of one search in ``out`` (see the module docstring)."""

    def __init__(
        self,
        config: str | Path,
        space: dict[str, list[Any]] | list[dict[str, Any]],
        out: str | Path,
        *,
        overrides: list[str] | None = None,
        plugins: list[str] | None = None,
        validator: str | None = None,
        trials: int | None = None,
        echo: Callable[[str], None] = print,
    ) -> None:
        from unshift.runs.selection import DEFAULT_VALIDATOR
        from unshift.runs.validators import NEEDS_SOURCE_VAL, VALIDATORS

        self.validator = validator or DEFAULT_VALIDATOR
        if self.validator not in VALIDATORS:
            raise ConfigError(f"unknown validator {self.validator!r}; known: {sorted(VALIDATORS)}")
        if trials is not None and trials < 1:
            raise ConfigError(f"--trials {trials}: give at least 1")
        self.config, self.space, self.out = str(config), space, Path(out)
        self.overrides, self.plugins, self.echo = list(overrides or []), list(plugins or []), echo
        base = resolve_paths(load_config(config, self.overrides, self.plugins))
        fraction = to_dict(base)["data"].get("source_val_fraction", 0.0)
        if self.validator in NEEDS_SOURCE_VAL and not fraction:
            raise ConfigError(
                f"validator {self.validator} reads held-out source data; add "
                "--set data.source_val_fraction=0.1 (or choose a target-only validator, e.g. im)"
            )
        if isinstance(space, list) and trials is not None:
            raise ConfigError("--trials draws from a --space grid; candidates are all tried")
        self.points = grid(space) if isinstance(space, dict) else list(space)
        self.keys = list(dict.fromkeys(k for point in self.points for k in point))
        for settings in self.points:  # every value is checked before anything trains
            self.trial_config(settings)
        self.trials = None if trials is None or trials >= len(self.points) else trials
        self.search = Search(self.config, space, self.validator, to_yaml(base), self.trials)
        self.done: list[Trial] = self._resumed()

    def trial_config(self, settings: dict[str, Any]) -> RunConfig:
        try:
            return load_config(self.config, [*self.overrides, *_overrides(settings)], self.plugins)
        except ConfigError as err:
            raise ConfigError(f"--space setting {settings}: {err}") from None

    def _resumed(self) -> list[Trial]:
        state = self.out / TUNE_JSON
        if not state.exists():
            if self.out.exists() and any(self.out.iterdir()):
                raise RunDirError(
                    f"--out {self.out} holds other files; give an empty or new folder"
                )
            return []
        saved = json.loads(state.read_text())
        if saved.get("search") != json.loads(json.dumps(asdict(self.search))):
            raise RunDirError(
                f"{state} records a different search (config, space, validator, --set or "
                "--trials); give another --out"
            )
        trials = [Trial(**t) for t in saved["trials"]]
        if trials:
            self.echo(f"resuming {self.out}: {len(trials)} finished trial(s) kept")
        return trials

    def _save(self, chosen: Trial | None = None) -> None:
        record = {
            "search": asdict(self.search),
            "trials": [asdict(t) for t in self.done],
            "chosen": None if chosen is None else chosen.index,
        }
        write_json(self.out / TUNE_JSON, record)

    def _train(self, index: int, settings: dict[str, Any]) -> Trial:
        from unshift.runs.run import run
        from unshift.runs.validators import VALIDATORS, ValidationData

        run_dir = self.out / f"trial-{index:03d}"
        rd = RunDir(run_dir)
        resume = rd.checkpoint.exists() and not rd.final.exists()
        start = time.perf_counter()
        trial = Trial(index, settings, str(run_dir), FAILED)
        try:
            result = run(self.trial_config(settings), run_dir, resume=resume, overwrite=not resume)
            trial.score = VALIDATORS[self.validator](
                result.method, ValidationData.from_task(result.data)
            )
            trial.target_acc_not_used = result.final.get("target_acc")
            trial.status = DONE
        except (TrainingDiverged, UnshiftError) as err:
            trial.error = f"{type(err).__name__}: {err}"
        trial.wall_s = time.perf_counter() - start
        shown = f"{self.validator} {trial.score:.5f}" if trial.score is not None else trial.error
        self.echo(f"trial {index}: {_describe(settings)}: {shown}")
        return trial

    def run(self) -> TuneResult:
        """Train the trials not yet done, choose, and write ``best.yaml`` and ``tune.md``."""
        self.out.mkdir(parents=True, exist_ok=True)
        self._save()  # from now on, running the same command again resumes this search
        if self.trials is None:
            todo = [(i, s) for i, s in enumerate(self.points) if i >= len(self.done)]
            for index, settings in todo:
                self.done.append(self._train(index, settings))
                self._save()
        else:
            from unshift.runs.tpe import tpe_search

            def trial(settings: dict[str, Any]) -> Trial:
                return self._train(len(self.done), settings)

            assert isinstance(self.space, dict)
            tpe_search(self.space, self.done, self.trials, trial, self._save)
        ok = [t for t in self.done if t.status == DONE and t.score is not None]
        if not ok:
            raise TrainingDiverged(f"every trial failed; see {self.out / TUNE_JSON}")
        chosen = max(ok, key=lambda t: (t.score, -t.index))
        best = self.out / BEST
        header = (
            f"# chosen by unshift tune: {self.validator} {chosen.score:.5f}, trial "
            f"{chosen.index} of {len(self.done)} ({_describe(chosen.settings)}); "
            "target labels chose nothing.\n"
        )
        cfg = self.trial_config(chosen.settings)
        atomic_write(best, lambda tmp: tmp.write_text(header + to_yaml(resolve_paths(cfg))))
        self._save(chosen)
        atomic_write(self.out / TUNE_MD, lambda tmp: tmp.write_text(self.markdown(chosen)))
        return TuneResult(self.validator, self.done, chosen, best)

    def markdown(self, chosen: Trial) -> str:
        """``tune.md``: every trial's settings, score and state, the chosen one marked."""
        keys = self.keys
        lines = [
            f"# unshift tune: {self.config}",
            "",
            f"Validator {self.validator} (higher is better) on each trial's last iterate; "
            f"{'every one' if self.trials is None else f'{self.trials} TPE trials'} of "
            f"{len(self.points)} settings. Chosen: trial {chosen.index} → `{BEST}`. Target "
            "test accuracy is shown for the reader; it chose nothing.",
            "",
            "| trial | " + " | ".join(keys) + f" | {self.validator} | target acc (not used) | |",
            "|---|" + "---|" * (len(keys) + 3),
        ]
        for t in self.done:
            score = f"{t.score:.5f}" if t.score is not None else f"failed: {t.error}"
            acc = f"{t.target_acc_not_used:.4f}" if t.target_acc_not_used is not None else "–"
            values = " | ".join(json.dumps(t.settings[k]) if k in t.settings else "–" for k in keys)
            mark = "**chosen**" if t is chosen else ""
            lines.append(f"| {t.index} | {values} | {score} | {acc} | {mark} |")
        return "\n".join(lines) + "\n"


def _describe(settings: dict[str, Any]) -> str:
    return " ".join(f"{k}={json.dumps(v)}" for k, v in settings.items())


def tune(
    config: str | Path,
    space: dict[str, list[Any]] | list[dict[str, Any]],
    out: str | Path,
    **options: Any,
) -> TuneResult:
    """Run the search of :class:`Tuner` (``overrides``, ``plugins``, ``validator``, ``trials``,
    ``echo`` as there) and return its :class:`TuneResult`."""
    return Tuner(config, space, out, **options).run()
