"""``unshift tune --trials N``: N settings of a search space drawn by Optuna's TPE sampler."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from unshift.core.errors import ConfigError


class Scored(Protocol):
    settings: dict[str, Any]
    score: float | None


T = TypeVar("T", bound=Scored)


def tpe_search(
    space: dict[str, list[Any]],
    done: list[T],
    trials: int,
    run_trial: Callable[[dict[str, Any]], T],
    after_each: Callable[[], None],
) -> None:
    """Append trials to ``done`` until it holds ``trials`` distinct settings of ``space``, each
    asked of a TPE sampler (seed 0) that has first been told every trial already in ``done``
    (a resumed search continues where it stopped). ``run_trial(settings)`` trains one and
    returns it with its ``score`` (``None``: failed); ``after_each()`` runs after each."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            f"--trials {trials} draws settings with Optuna: pip install 'unshift[tune]', or "
            "drop --trials to run the whole grid"
        ) from None
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    keys = list(space)
    dists = {k: CategoricalDistribution(list(range(len(space[k])))) for k in keys}
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))

    def outcome(trial: Scored) -> dict[str, Any]:
        if trial.score is None:
            return {"state": TrialState.FAIL}
        return {"value": trial.score, "state": TrialState.COMPLETE}

    for trial in done:
        params = {k: space[k].index(trial.settings[k]) for k in keys}
        study.add_trial(create_trial(params=params, distributions=dists, **outcome(trial)))
    seen = {json.dumps(t.settings, sort_keys=True) for t in done}
    asked_at_most = 50 * trials
    while len(done) < trials and asked_at_most:
        asked_at_most -= 1
        asked = study.ask(dists)
        settings = {k: space[k][asked.params[k]] for k in keys}
        key = json.dumps(settings, sort_keys=True)
        if key in seen:  # TPE may ask for a setting again: it runs once
            study.tell(asked, state=TrialState.PRUNED)
            continue
        seen.add(key)
        new = run_trial(settings)
        result = outcome(new)
        study.tell(asked, result.get("value"), state=result["state"])
        done.append(new)
        after_each()
