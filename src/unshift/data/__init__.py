"""Data: in-memory and streamed domains, generators and loaders, paired iteration."""

from unshift.data.datasets import from_datasets
from unshift.data.domains import Domain, TaskData
from unshift.data.moons import rotated_moons
from unshift.data.sampling import PairedBatches
from unshift.data.streamed import StreamedDomain

__all__ = [
    "Domain",
    "PairedBatches",
    "StreamedDomain",
    "TaskData",
    "from_datasets",
    "rotated_moons",
]
