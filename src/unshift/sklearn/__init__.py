"""Domain adaptation as scikit-learn estimators (:mod:`~unshift.sklearn.estimators`), on a
shared base (:mod:`~unshift.sklearn.base`) and its row handling (:mod:`~unshift.sklearn.rows`)."""

from unshift.sklearn.estimators import (
    EXPECTED_FAILED_CHECKS,
    ADDAClassifier,
    CDANClassifier,
    DANNClassifier,
    SourceOnlyClassifier,
)

__all__ = [
    "EXPECTED_FAILED_CHECKS",
    "ADDAClassifier",
    "CDANClassifier",
    "DANNClassifier",
    "SourceOnlyClassifier",
]
