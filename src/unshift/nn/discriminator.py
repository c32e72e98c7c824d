"""Domain discriminator: a multilayer perceptron from features to domain logits."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from unshift.core.errors import require


def as_features(x: Tensor, in_features: int, owner: str, what: str = "features") -> Tensor:
    """``x`` ``(N, *)`` flattened to ``(N, in_features)``; a ``ValueError`` naming ``owner``
    and ``what`` if its width differs."""
    if x.ndim > 2:
        x = x.flatten(1)
    if x.ndim != 2 or x.shape[1] != in_features:
        raise ValueError(
            f"{owner} expects {what} of shape (N, {in_features}); got {tuple(x.shape)}"
        )
    return x


def check_discriminator(hidden: Sequence[int], dropout: float) -> None:
    """The rules on :class:`DomainDiscriminator`'s hidden widths and dropout, raising
    :class:`~unshift.core.errors.FieldError` (a ``ValueError``) naming the argument."""
    require(all(h >= 1 for h in hidden), "hidden", f"widths must be >= 1; got {list(hidden)}")
    require(0.0 <= dropout < 1.0, "dropout", f"must lie in [0, 1); got {dropout}")


class DomainDiscriminator(nn.Module):
    """MLP ``G_d`` that predicts which domain a feature vector comes from.

    Each hidden layer is ``Linear → [BatchNorm1d] → ReLU → [Dropout]``; the last layer is linear
    and returns logits (never probabilities: losses are computed from logits).

    Parameters
    ----------
    in_features : int
        Width ``F`` of the features; non-flat inputs ``(N, *)`` are flattened to ``(N, F)``.
    num_domains : int
        ``2`` gives one logit per sample (binary); ``K > 2`` gives ``K`` logits.
    hidden : sequence of int
        Widths of the hidden layers (the DANN paper's Office network uses ``(1024, 1024)``).
    batch_norm : bool
        Insert ``BatchNorm1d`` after each hidden linear layer.
    dropout : float
        Dropout probability after each hidden activation; ``0`` disables it.

    The output layer starts with small weights (normal, std 0.001) and zero bias, so that the
    discriminator starts at chance: loss ``ln 2`` for two domains, ``ln K`` for ``K``.

    Shapes: input ``(N, F)`` or ``(N, *)`` flattening to ``F``; output ``(N, 1)`` for two
    domains, ``(N, K)`` for ``K > 2``.
    """

    def __init__(
        self,
        in_features: int,
        num_domains: int = 2,
        hidden: Sequence[int] = (1024, 1024),
        batch_norm: bool = True,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if in_features < 1:
            raise ValueError(f"in_features must be >= 1; got {in_features}")
        if num_domains < 2:
            raise ValueError(f"num_domains must be >= 2; got {num_domains}")
        check_discriminator(hidden, dropout)
        self.in_features = in_features
        self.num_domains = num_domains
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers.append(nn.Linear(width, h))
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.ReLU(inplace=True))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        head = nn.Linear(width, 1 if num_domains == 2 else num_domains)
        # Near-zero output weights: the discriminator starts at chance (loss ln K).
        nn.init.normal_(head.weight, std=1e-3)
        nn.init.zeros_(head.bias)
        layers.append(head)
        self.net = nn.Sequential(*layers)

    @property
    def out_features(self) -> int:
        """Number of logits per sample: 1 for two domains, ``K`` otherwise."""
        return 1 if self.num_domains == 2 else self.num_domains

    def forward(self, x: Tensor) -> Tensor:
        return self.net(as_features(x, self.in_features, "DomainDiscriminator"))
