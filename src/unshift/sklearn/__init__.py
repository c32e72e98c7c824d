"""Domain adaptation as scikit-learn estimators (:mod:`~unshift.sklearn.estimators`), on a
shared base (:mod:`~unshift.sklearn.base`) and its row handling (:mod:`~unshift.sklearn.rows`);
:class:`SourceFolds` cross-validates with unlabelled target rows (:mod:`~unshift.sklearn.folds`)."""

from unshift.sklearn.alignment import CORALClassifier, MCCClassifier, MDDClassifier
from unshift.sklearn.estimators import (
    EXPECTED_FAILED_CHECKS,
    ADDAClassifier,
    CDANClassifier,
    DANNClassifier,
    SourceOnlyClassifier,
)
from unshift.sklearn.folds import SourceFolds

__all__ = [
    "EXPECTED_FAILED_CHECKS",
    "ADDAClassifier",
    "CDANClassifier",
    "CORALClassifier",
    "DANNClassifier",
    "MCCClassifier",
    "MDDClassifier",
    "SourceFolds",
    "SourceOnlyClassifier",
]
