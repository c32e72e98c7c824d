"""unshift: adversarial unsupervised domain adaptation for PyTorch.

Building blocks (torch only): :mod:`unshift.nn`, :mod:`unshift.schedules`,
:mod:`unshift.losses`.
"""

__version__ = "0.1.0"
