"""Data: in-memory domains, generators and loaders, and paired source/target iteration."""

from unshift.data.domains import Domain, TaskData
from unshift.data.moons import rotated_moons
from unshift.data.sampling import PairedBatches

__all__ = ["Domain", "PairedBatches", "TaskData", "rotated_moons"]
