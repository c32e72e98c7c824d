"""Cross-validation with unlabelled target rows: :class:`SourceFolds` scores only labelled rows
and trains every fold on all target rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.model_selection import BaseCrossValidator, StratifiedKFold

from unshift.sklearn.rows import unlabelled


class SourceFolds(BaseCrossValidator):
    """Stratified k-fold over the labelled (source) rows; every training fold also gets all
    unlabelled rows (``y == -1``), and no test fold holds one.

    A plain ``KFold`` would put target rows into test folds, where a scorer such as
    ``"accuracy"`` counts them as errors (the estimators' own ``score`` leaves them out, but
    other scorers cannot know), and leave them out of training, where adaptation needs them.
    Use it as ``cross_val_score(DANNClassifier(), X, y, cv=SourceFolds(5))``.

    Parameters
    ----------
    n_splits : int
        Folds of the labelled rows (>= 2).
    shuffle, random_state
        As in :class:`sklearn.model_selection.StratifiedKFold`.
    """

    def __init__(
        self, n_splits: int = 5, shuffle: bool = False, random_state: int | None = None
    ) -> None:
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def split(
        self, X: Any, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(train, test)`` row indices of ``X`` ``(n_samples, n_features)`` for ``y``
        ``(n_samples,)``; ``groups`` is ignored."""
        if y is None:
            raise ValueError("SourceFolds needs y: the labelled rows are its folds")
        y = np.asarray(y)
        target = unlabelled(y)
        source = np.flatnonzero(~target)
        folds = StratifiedKFold(self.n_splits, shuffle=self.shuffle, random_state=self.random_state)
        for train, test in folds.split(source, y[source]):
            yield np.sort(np.r_[source[train], np.flatnonzero(target)]), source[test]

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.n_splits
