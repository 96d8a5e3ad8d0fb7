"""What a `WarmStartHook`'s session did with the warm start, found out, not guessed.

Do not import this module directly; use `warm_start_hooks.estimator` instead.

A session runs the overridden initializers only when it restores no
checkpoint. `add_marker` ties an unsaved marker variable to those
initializers, so the session itself tells whether they ran. The reports here
describe a session that did not warm-start: it restored a checkpoint, or its
task left the warm start to the chief.
"""

from __future__ import annotations

import uuid
from typing import Any

import tensorflow as tf

from warm_start_hooks import _distribute
from warm_start_hooks import _errors
from warm_start_hooks import _report

_NOT_RUN = (
    'the session restored a checkpoint, so the warm-start initializers did not run and the '
    'restored values were kept (the model resumed from its own checkpoint; on a non-chief '
    'worker, the chief initialized the variables)'
)


def add_marker(variables: list[Any]) -> tf.Tensor | None:
    """Ties an unsaved marker variable to the initializers of `variables`.

    Returns a tensor that is true in a session exactly when those
    initializers ran, or None when there are no variables.
    """
    if not variables:
        return None
    first = variables[0]
    # A container of its own: a parameter server outlives the chief's sessions, so
    # a marker shared by name would still be initialized from an earlier run. Not
    # colocated with `first`: a MirroredVariable has no handle outside a replica.
    container = f'warm_start_{uuid.uuid4().hex}'
    with first.graph.as_default(), tf.compat.v1.container(container):
        # In no collection: never saved, restored or checked by a Scaffold.
        marker = tf.compat.v1.Variable(
            1.0, trainable=False, collections=[], name='warm_start_applied', use_resource=True
        )
        check = tf.compat.v1.is_variable_initialized(marker)
    for variable in variables:
        with first.graph.as_default():
            variable._initializer_op = tf.group(  # pylint: disable=protected-access
                variable.initializer, marker.initializer
            )
    return check


def not_run_report(source: str) -> _report.WarmStartReport:
    """The report of a session that restored a checkpoint instead of initializing."""
    return _report.WarmStartReport.skipped(source, _NOT_RUN)


def restored_own_report(source: str, checkpoint: str) -> _report.WarmStartReport:
    """The report of a run whose model directory already held `checkpoint`."""
    return _report.WarmStartReport.skipped(
        source, f'the model restored its own checkpoint {checkpoint}'
    )


def not_chief_report(
    role: _distribute.TaskRole,
    source: str,
    session: tf.compat.v1.Session,
    initialized: tf.Tensor | None,
) -> _report.WarmStartReport:
    """The report of a task that left the warm start to the chief.

    Raises:
      WarmStartError: This task's session initialized the variables after all.
    """
    if initialized is not None and bool(session.run(initialized)):
        raise _errors.WarmStartError(
            [
                f'this task, {role.describe()}, was taken for a non-chief and did not '
                'warm-start, but its session initialized the variables: it is the chief, and its '
                'model was not warm-started. Pass is_chief=True to WarmStartHook on the task that '
                'initializes the variables (the one given MonitoredTrainingSession(is_chief=True)'
                f'). Received: is_chief={role.is_chief}'
            ],
            'WarmStartHook',
        )
    return _report.WarmStartReport.skipped(
        source,
        f'this task, {role.describe()}, is not the chief: the chief initializes the shared '
        "variables and warm-starts them, and this task's session uses them; this task read no "
        'checkpoint or vocabulary',
    )
