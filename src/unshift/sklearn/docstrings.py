"""The parameter and attribute sections the estimators' docstrings share."""

PARAMETERS = """
    Parameters
    ----------
    hidden, activation
        The feature extractor: an MLP with these hidden widths and activation
        (``relu``/``tanh``/``sigmoid``); the label head is linear.
    max_steps, batch_size
        Training steps; samples per domain per batch.
    optimizer, lr, momentum, weight_decay, betas, lr_schedule, lr_alpha, lr_beta
        The optimiser (``sgd`` or ``adam``) and its learning-rate schedule, as in
        :class:`~unshift.training.specs.OptimizerSpec` (``optimizer`` is its ``name``).
    accelerator, devices, precision
        Where and how to train, as Lightning Fabric takes them (the estimator's device
        parameters): ``accelerator`` ``"auto"`` (default: a GPU where there is one), ``"cpu"``,
        ``"cuda"``, ``"mps"``; ``devices`` how many; ``precision`` e.g. ``"32-true"``,
        ``"bf16-mixed"``.
    threads
        CPU threads for torch while fitting; ``None`` (default): the CPUs this process may use
        less those other processes keep busy when ``fit`` starts, so that fits on a busy
        machine do not oversubscribe it. Fits are bit-identical for the same ``random_state``
        and thread count.
    random_state
        Seeds initialisation and batch order (an int is the torch seed; ``None`` or a
        ``RandomState`` draws one).
    scale_inputs
        Scale every feature by its standard deviation over the pooled source and target rows
        (no labels read), centring dense inputs on their mean too; sparse inputs stay sparse
        (scaled, not centred). On by default, so that raw counts or features ×1000 train with
        the default learning rate; ``False`` feeds ``X`` as given.
"""

ATTRIBUTES = """
    Attributes
    ----------
    classes_ : ndarray (n_classes,)
        The labels seen on labelled rows, in the order of ``predict_proba``'s columns.
    n_features_in_ : int
        Features per row.
    method_ : unshift.methods.Method
        The trained network (source-only when ``fit`` saw no target rows).
    scaler_ : sklearn.preprocessing.StandardScaler or None
        The input scaling fitted on the pooled rows (``scale_inputs``).
"""
