"""Whether a Keras model resumes its own training, which a warm start must not overwrite.

Do not import this module directly; use `warm_start_hooks.keras` instead.

`WarmStartCallback` skips, and says why, when `BackupAndRestore` restored a
backup, training starts at a later epoch, the optimizer has taken steps, or
a variable was already warm-started.
"""

from __future__ import annotations

from typing import Any

from warm_start_hooks import _api
from warm_start_hooks import _distribute
from warm_start_hooks import _variables


def resume_reason(model: Any, epoch: int) -> str | None:
    """Why the model holds its own state and must not be warm-started, or None."""
    restored = _backup_restored(model)
    if restored:
        return restored
    if epoch > 0:
        return (
            f'training resumes at epoch {epoch} (fit(initial_epoch=...) or a restored backup), '
            'so the model holds its own trained state, which was kept. Pass force=True to '
            'warm-start anyway.'
        )
    steps = optimizer_steps(model)
    if steps:
        return (
            f'the optimizer has already taken {steps} step(s): the model holds trained state '
            '(reloaded with its optimizer, restored, or trained by an earlier fit), which was '
            'kept. Pass force=True to warm-start anyway.'
        )
    return None


def _backup_restored(model: Any) -> str | None:
    """A reason if a `BackupAndRestore` callback restored a backup in this `fit`."""
    # Keras 3: BackupAndRestore.on_train_begin sets the epoch to resume from.
    epoch = getattr(model, '_initial_epoch', None)
    if epoch is not None:
        return (
            f'BackupAndRestore restored the training state (resuming at epoch {epoch}); the '
            'restored values were kept.'
        )
    # Keras 2: BackupAndRestore.on_train_begin restores through a CheckpointManager.
    state = getattr(model, '_training_state', None)
    manager = getattr(state, 'read_checkpoint_manager', None)
    latest = getattr(manager, 'latest_checkpoint', None)
    if latest:
        return (
            f'BackupAndRestore restored the training state from {latest!r}; the restored values '
            'were kept.'
        )
    return None


def optimizer_steps(model: Any) -> int:
    """How many steps the model's optimizer has taken (0 without one)."""
    iterations = getattr(getattr(model, 'optimizer', None), 'iterations', None)
    if iterations is None:
        return 0
    try:
        return int(iterations.numpy())
    except (AttributeError, TypeError, ValueError):
        return 0


def warm_started_variable(model: Any) -> tuple[str, str] | None:
    """(name, source) of a model variable an eager warm start already assigned."""
    for v in model.variables:
        source = _api.warm_started_from(v)
        if source:
            return _variables.variable_name(v), source
    return None


def fit_strategy(model: Any) -> Any:
    """The multi-worker strategy `fit` trains an unbuilt `model` under, or None."""
    strategy = getattr(model, 'distribute_strategy', None)
    return strategy if _distribute.is_multi_worker(strategy) else None
