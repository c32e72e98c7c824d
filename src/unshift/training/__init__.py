"""The training loop: the config of a run and what it builds (:mod:`~unshift.training.config`,
:mod:`~unshift.training.build`), the optimiser and trainer specs, the
:class:`~unshift.training.trainer.Trainer` that runs any method, checkpoints and the
discriminator watchdog. Submodules are imported on use: the config loads without torch."""
