"""Label-free model selection: :func:`select` ranks the snapshots of runs by a validator of
:mod:`unshift.runs.validators`; :func:`reverse_validation` (Zhong et al. 2010; Ganin et al. 2016
§5.1.2) trains a config forwards and backwards. Neither reads a target label.

Reverse validation: a trained adaptation model labels the unlabelled target training set;
the same config is then trained with the roles swapped (pseudo-labelled target as the
labelled source, the source training inputs as the unlabelled target) and scored on labelled
*source* held-out data. A model whose target labels are wrong in a way no classifier can
map back to the source scores low.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from unshift.core.errors import ConfigError, RunDirError
from unshift.core.files import RunDir, write_json
from unshift.data.domains import TaskData
from unshift.methods import Method
from unshift.runs.run import run
from unshift.runs.validators import reverse_validation as reverse_validation_score
from unshift.training.config import RunConfig, load_config


def reverse_score(
    cfg: RunConfig, data: TaskData, method: Method, steps: int | None = None
) -> float:
    """:func:`unshift.runs.validators.reverse_validation` of the fitted ``method`` with ``cfg``'s
    method trained for ``steps`` steps (default the config's) as the backward model: higher is
    better. For ADDA, ``steps`` at or below ``method.pretrain_steps`` make the backward model a
    plain source-only classifier on the pseudo-labels (phase 1 only)."""
    backward_cfg = cfg.with_steps(steps or cfg.trainer.steps)
    return reverse_validation_score(method, data, lambda task: run(backward_cfg, data=task).method)


def reverse_validation(cfg: RunConfig, steps: int | None = None) -> dict[str, float]:
    """Train ``cfg`` forwards and score it by :func:`reverse_score` (backward ``steps``).

    Returns ``reverse_acc`` (the selection score), the forward model's ``source_acc`` and,
    for reporting only, its ``target_acc`` when the target test set has labels (it plays no
    part in the score).
    """
    forward = run(cfg)
    result = {"reverse_acc": reverse_score(cfg, forward.data, forward.method, steps)}
    result.update({k: forward.final[k] for k in ("source_acc", "target_acc") if k in forward.final})
    return result


DEFAULT_VALIDATOR = "im"
"""Information maximisation: chosen by a rule fixed beforehand (the best mean pick among those
meeting the goals, else the best mean pick) over 1141 snapshots of 24 tasks and 8 methods,
judged on held-out target *training* labels (``benchmarks/results/validator_pool.md``): its
pick is 0.020 below the oracle and 0.013 above the task config's own last iterate on average
(0.034 below it on the worst task); BNM (the earlier default) and Transfer Score follow within
0.002. No validator met all three goals. It rewards confidence: to compare runs of different
methods see :func:`confidence_warning`."""
SELECTION = "selection.json"
REVERSE = "reverse"
"""The name :func:`score_config` gives reverse validation (not a snapshot validator)."""


def score_config(
    cfg: RunConfig, validator: str | None = None, reverse_steps: int | None = None
) -> dict[str, float]:
    """Train ``cfg`` once and score its last iterate by ``validator`` (a name in
    :data:`unshift.runs.validators.VALIDATORS`, default :data:`DEFAULT_VALIDATOR`, or
    :data:`REVERSE` for :func:`reverse_validation` with ``reverse_steps`` backward steps):
    how the benchmarks' selection scripts compare candidate configs. Returns ``score``
    (higher is better), the model's ``source_acc`` and, for reporting only, ``target_acc``."""
    from unshift.runs.validators import VALIDATORS, ValidationData

    validator = validator or DEFAULT_VALIDATOR
    if validator == REVERSE:
        result = reverse_validation(cfg, reverse_steps)
        return {"score": result.pop("reverse_acc"), **result}
    if validator not in VALIDATORS:
        known = sorted([*VALIDATORS, REVERSE])
        raise ConfigError(f"unknown validator {validator!r}; known: {known}")
    forward = run(cfg)
    score = VALIDATORS[validator](forward.method, ValidationData.from_task(forward.data))
    keys = ("source_acc", "target_acc")
    return {"score": score, **{k: forward.final[k] for k in keys if k in forward.final}}


@dataclass
class Scored:
    """One snapshot's score: its run directory, step and validator score (higher is better)."""

    run: str
    step: int
    score: float


@dataclass
class Selection:
    """Every snapshot's score, best first, and the choice; ``target_acc_not_used`` is the
    chosen model's target test accuracy where the test set has labels, for reporting only;
    ``warning`` when the ranking is known to mislead (:func:`confidence_warning`)."""

    validator: str
    ranked: list[Scored]
    target_acc_not_used: float | None
    warning: str | None = None

    @property
    def chosen(self) -> Scored:
        return self.ranked[0]


CONFIDENCE_KEYS = ("target_entropy", "mcc")
"""Method settings that add a confidence-rewarding term to a loss (beside the MCC method)."""


def confidence_warning(validator: str, methods: dict[str, dict]) -> str | None:
    """A warning when ``validator`` rewards confident predictions
    (:data:`~unshift.runs.validators.REWARDS_CONFIDENCE`) and the runs' ``methods`` (run →
    its ``method`` config section) push confidence differently: other methods, or other
    ``target_entropy``/``mcc`` weights. ``None`` otherwise."""
    from unshift.runs.validators import REWARDS_CONFIDENCE

    def signature(method: dict) -> str:
        terms = {k: method.get(k) for k in CONFIDENCE_KEYS if method.get(k)}
        weight = {"weight": method.get("weight")} if method.get("name") == "mcc" else {}
        return json.dumps({"name": method.get("name"), **terms, **weight}, sort_keys=True)

    kinds = sorted({signature(m) for m in methods.values()})
    if validator not in REWARDS_CONFIDENCE or len(kinds) < 2:
        return None
    return (
        f"{validator} rewards confident target predictions, and these runs push confidence "
        f"differently ({'; '.join(kinds)}): it can rank a more confident, less accurate run "
        "first (with bnm on moons an MCC run at 0.633 target accuracy ranked above a DANN run at "
        "0.943; over 8 methods' runs on 3 tasks im and bnm picked MCC on each, 0.052 below the "
        "best method on average, benchmarks/results/validator_pool.md). Compare runs of one "
        "method, or rank them by source_val_acc_im or mixval, whose picks there were 0.006 and "
        "0.019 below the best method (they need data.source_val_fraction > 0 and target inputs)"
    )


def select(run_dirs: list[str | Path], validator: str | None = None) -> Selection:
    """Score every snapshot of every run in ``run_dirs`` with ``validator`` (a name in
    :data:`unshift.runs.validators.VALIDATORS`; default :data:`DEFAULT_VALIDATOR`), never reading a
    target label; write ``selection.json`` into each run directory and return the ranking.
    Each run's data and networks are built once; only the weights change per snapshot."""
    from unshift.runs.validators import VALIDATORS, ValidationData
    from unshift.training.build import build_trainer, load_run, load_weights
    from unshift.training.config import to_dict

    validator = validator or DEFAULT_VALIDATOR
    if validator not in VALIDATORS:
        raise ConfigError(f"unknown validator {validator!r}; known: {sorted(VALIDATORS)}")
    if not run_dirs:
        raise RunDirError("select needs at least one run directory")
    dirs = [RunDir(d).require() for d in run_dirs]
    tasks, methods = {}, {}
    for rd in dirs:
        if not rd.snapshot_steps():
            raise RunDirError(f"{rd.path} has no snapshots (train it with trainer.snapshot_every)")
        config = to_dict(load_config(rd.config))
        tasks[str(rd.path)], methods[str(rd.path)] = config["data"], config["method"]
    if len({json.dumps(t, sort_keys=True) for t in tasks.values()}) > 1:
        raise RunDirError(f"select compares runs of one task; these have different data: {tasks}")
    scored, loaded = [], {}
    for rd in dirs:
        steps = rd.snapshot_steps()
        cfg, data, method = loaded[str(rd.path)] = load_run(rd.path, steps[0], train_data=True)
        for step in steps:
            load_weights(rd, method, step)
            value = VALIDATORS[validator](method, ValidationData.from_task(data))
            scored.append(Scored(str(rd.path), step, value))
    ranked = sorted(scored, key=lambda s: -s.score)
    best = ranked[0]
    cfg, data, method = loaded[best.run]
    load_weights(RunDir(best.run), method, best.step)
    target_acc = build_trainer(cfg, None).evaluate(method, data).get("target_acc")
    result = Selection(validator, ranked, target_acc, confidence_warning(validator, methods))
    for rd in dirs:
        own = [dataclasses.asdict(s) for s in ranked if s.run == str(rd.path)]
        record = {
            "validator": validator,
            "scores": own,
            "chosen": dataclasses.asdict(best),
            "chosen_target_acc_not_used_for_selection": target_acc,
            "warning": result.warning,
        }
        write_json(rd.path / SELECTION, record)
    return result
