"""Named networks: feature extractors and heads."""

from unshift.models.digits import dann_mnist_domain_head, dann_mnist_features, dann_mnist_label_head
from unshift.models.mlp import mlp

__all__ = ["dann_mnist_domain_head", "dann_mnist_features", "dann_mnist_label_head", "mlp"]
