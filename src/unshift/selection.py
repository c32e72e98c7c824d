"""Label-free model selection: reverse validation (Zhong et al. 2010; Ganin et al. 2016 §5.1.2).

A trained adaptation model labels the unlabelled target training set; the same config is
then trained with the roles swapped (pseudo-labelled target as the labelled source, the
source training inputs as the unlabelled target) and scored on labelled *source* held-out
data. A model whose target labels are wrong in a way no classifier can map back to the source
scores low. No target label is read at any point.
"""

from __future__ import annotations

import dataclasses

from unshift.config import RunConfig
from unshift.data.domains import Domain, TaskData
from unshift.errors import DataError
from unshift.eval.metrics import classification_report, predict_labels
from unshift.methods import Method
from unshift.run import run


def reverse_task(data: TaskData, method: Method) -> TaskData:
    """``data`` with source and target swapped: the target training inputs labelled by
    ``method``'s predictions, the source training inputs without labels, and the source test
    set as the (labelled) test set of the new target. Needs one source and one target;
    leaves ``method`` in eval mode."""
    if len(data.sources) != 1 or len(data.targets) != 1:
        raise DataError("reverse validation needs exactly one source and one target domain")
    if data.source_test is None or data.source_test.y is None:
        raise DataError("reverse validation scores on the labelled source test set; there is none")
    source, target = data.sources[0], data.targets[0]
    method.eval()
    pseudo = predict_labels(method.predict, target.x).cpu()
    return dataclasses.replace(
        data,
        sources=[Domain(target.x, pseudo, target.name)],
        targets=[Domain(source.x, None, source.name)],
        source_test=None,
        target_test=data.source_test,
    )


def reverse_score(
    cfg: RunConfig, data: TaskData, method: Method, steps: int | None = None
) -> float:
    """Accuracy on ``data``'s source test set of ``cfg``'s method trained for ``steps`` steps
    (default the config's) on :func:`reverse_task` of the fitted ``method``: the reverse
    validation score, higher is better. For ADDA, ``steps`` at or below
    ``method.pretrain_steps`` make the backward model a plain source-only classifier on the
    pseudo-labels (phase 1 only)."""
    reverse_data = reverse_task(data, method)
    backward = run(cfg.with_steps(steps or cfg.trainer.steps), data=reverse_data).method
    test = reverse_data.target_test
    assert test is not None and test.y is not None
    predicted = predict_labels(backward.predict, test.x)
    return classification_report(predicted, test.y, data.num_classes)["acc"]


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
