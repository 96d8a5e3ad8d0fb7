"""Warm starts under `MultiWorkerMirroredStrategy`: one task reads, all write the same bytes.

Do not import this module directly; use `import warm_start_hooks` instead.

Under `MultiWorkerMirroredStrategy` every worker holds its own copy of every
variable and the copies stay equal only because they start equal (the
strategy broadcasts initial values from the first worker) and take the same
updates. A warm start run on each worker on its own would break that: an
unseeded `backup_initializer`, `new_row_init='gaussian'` or any other draw
gives each worker other values, and every worker would read the same
checkpoint and vocabularies from shared storage.

So one task, the one holding the strategy's replica 0 (the chief, or worker 0
without a chief), plans, validates, reads and computes every value; the
others read nothing. The values travel as raw bytes through the strategy's
own all-reduce (the chief's bytes plus zeros from everyone else: an exact
copy, for every dtype), and every task assigns them. The tasks agree first
(all resume, or all start fresh), and agree after assigning, so that either
every task holds the new values or none does. Every task must call the warm
start, as every task builds the model.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from warm_start_hooks import _apply
from warm_start_hooks import _collective
from warm_start_hooks import _distribute
from warm_start_hooks import _errors
from warm_start_hooks import _plan
from warm_start_hooks import _report
from warm_start_hooks import _variables

# A part and its new value.
_PartValue = tuple[_variables.Part, np.ndarray]

# What a task says in the first exchange: it starts fresh, or resumes from saved state.
_READY, _RESUMES = 1, 2


def strategy_for(pool: _variables.Pool) -> Any:
    """The strategy whose workers all hold copies of `pool`'s variables, or None.

    Raises:
      WarmStartError: They are graph-mode variables mirrored across workers,
        where every worker would run its own initializers with its own draws.
    """
    variables = [part.variable for target in pool.everything for part in target.parts]
    strategy = _distribute.multi_worker_strategy(variables)
    if strategy is not None and pool.graph:
        raise _errors.WarmStartError(
            [
                'the variables are mirrored across workers by a MultiWorkerMirroredStrategy in '
                'graph mode, where every worker would compute its own values. Expected eager '
                'mode: warm_start(..., variables=model) or a Keras callback, which send the '
                f"chief's values to every worker. Received: strategy={type(strategy).__name__}"
            ]
        )
    return strategy


@dataclasses.dataclass(frozen=True)
class Result:
    """What a coordinated warm start did on this task.

    Attributes:
      report: This task's report (a skip, or the chief's plan and this task's notes).
      plan: The plan, on the task that made it; None elsewhere.
      parts: The parts this task assigned.
    """

    report: _report.WarmStartReport
    plan: _plan.Plan | None
    parts: tuple[_variables.Part, ...]


def run(
    strategy: Any,
    pool: _variables.Pool,
    make_plan: Callable[[], _plan.Plan],
    source: str,
    *,
    skip_reason: str | None = None,
) -> Result:
    """Warm-starts `pool`'s variables alike on every task of `strategy`.

    Args:
      strategy: A multi-worker strategy (see `_distribute.multi_worker_strategy`).
      pool: This task's variables; every task passes the same model.
      make_plan: Plans and validates; called on the planning task only.
      source: The checkpoint as given, for reports.
      skip_reason: Why this task would not warm-start (it resumes), or None.

    Returns:
      A `Result`.

    Raises:
      WarmStartError: The tasks disagree, or planning failed (on any task).
      ApplyError: Reading, computing or assigning failed on some task; no
        task changed a variable.
    """
    task = _collective.Task(strategy)
    parts = [p for t in pool.everything for p in t.parts]
    states = task.gather([_RESUMES if skip_reason else _READY, _fingerprint(pool)])
    _agree(states, task)
    if skip_reason and all(state == _RESUMES for state in states[:, 0] if state):
        return Result(_report.WarmStartReport.skipped(source, skip_reason), None, ())
    plan: _plan.Plan | None = None
    values: list[_PartValue] = []
    error: Exception | None = None
    payload = b''
    if task.is_planner:
        plan, values, payload, error = _prepare(make_plan, parts)
    message = json.loads(_collective.broadcast_bytes(task, payload))
    if message['status'] != 'ok':
        raise error if error is not None else _error_from(message, task)
    layout = [(tf.as_dtype(d), tuple(s)) for _, d, s in message['parts']]
    if task.is_planner:
        error = _collective.send_arrays(task, [v for _, v in values], layout, message['chunk'])
    else:
        received, error = _collective.receive_arrays(task, layout, message['chunk'])
        values = [(parts[i], v) for (i, _, _), v in zip(message['parts'], received)]
    _assign_agreed(task, values, message['report']['source'], error)
    notes = _notes(task, message)
    if plan is not None:
        report = _report.WarmStartReport.from_plan(plan, applied=True)
    else:
        report = _report.WarmStartReport.from_dict(message['report'])
    report = dataclasses.replace(report, notes=(*report.notes, notes))
    return Result(report, plan, tuple(parts[i] for i, _, _ in message['parts']))


def _agree(states: np.ndarray, task: _collective.Task) -> None:
    """Raises on every task unless all hold the same variables and agree to resume or not."""
    present = [(r, int(s), int(f)) for r, (s, f) in enumerate(states) if s]
    problems = []
    if len({f for _, _, f in present}) > 1:
        problems.append(
            'the workers hold different variables (names, shapes or dtypes differ by first '
            f'replica: { {r: f for r, _, f in present} }). Expected every worker to build the '
            'same model before the warm start. Received: fingerprints by first replica'
        )
    resuming = [r for r, s, _ in present if s == _RESUMES]
    fresh = [r for r, s, _ in present if s == _READY]
    if resuming and fresh:
        problems.append(
            f'the workers at first replicas {resuming} resume from saved training state while '
            f'those at {fresh} start fresh; a warm start on some workers only would leave them '
            'with different values. Expected every worker to restore the same backup (e.g. '
            'BackupAndRestore with a backup_dir all of them read) or none. '
            f'Received: this task {task.name} at replica {task.slot}'
        )
    _errors.raise_if_problems(problems, 'warm start across workers')


def _fingerprint(pool: _variables.Pool) -> int:
    text = ';'.join(f'{t.name}:{list(t.full_shape)}:{t.dtype.name}' for t in pool.everything)
    return zlib.crc32(text.encode()) % (2**31 - 2) + 1  # Never 0, which means "no task".


def _prepare(
    make_plan: Callable[[], _plan.Plan], parts: list[_variables.Part]
) -> tuple[_plan.Plan | None, list[_PartValue], bytes, Exception | None]:
    """On the planning task: (plan, [(part, value)], payload, None), or a failure's payload.

    A failure is sent to every task, and raised here as it is: (None, [],
    payload, error).
    """
    index = {id(p.variable): i for i, p in enumerate(parts)}
    try:
        plan = make_plan()
        values = _apply.compute_checked(plan)
        layout = []
        for part, value in values:
            if id(part.variable) not in index or value.dtype.kind in 'OUS':
                raise _errors.ApplyError(
                    f'{_variables.variable_name(part.variable)!r} cannot be sent to the other '
                    'workers: it is not one of their variables, or holds strings. Expected '
                    'numeric variables of the model every worker built. '
                    f'Received: dtype={value.dtype}'
                )
            layout.append([index[id(part.variable)], tf.as_dtype(value.dtype).name, value.shape])
        report = _report.WarmStartReport.from_plan(plan, applied=True).to_dict()
        message = {
            'status': 'ok',
            'parts': layout,
            'chunk': _collective.CHUNK_BYTES,
            'report': report,
        }
    except Exception as e:  # pylint: disable=broad-except
        return None, [], json.dumps(_error_message(e)).encode(), e
    return plan, values, json.dumps(message, default=_json_default).encode(), None


def _json_default(x: Any) -> Any:
    if isinstance(x, (np.integer, np.floating)):
        return x.item()
    if isinstance(x, (tuple, set, frozenset)):
        return list(x)
    raise TypeError(f'not JSON serialisable: {type(x).__name__}')


def _error_message(e: BaseException) -> dict[str, Any]:
    if isinstance(e, _errors.WarmStartError):
        return {'status': 'error', 'type': 'WarmStartError', 'problems': e.problems}
    kind = 'ApplyError' if isinstance(e, _errors.Error) else type(e).__name__
    return {'status': 'error', 'type': kind, 'message': f'{type(e).__name__}: {e}'}


def _error_from(message: dict[str, Any], task: _collective.Task) -> BaseException:
    """The planning task's error, as the other tasks raise it."""
    where = 'the chief (the task of replica 0)'
    if message['type'] == 'WarmStartError':
        return _errors.WarmStartError(
            [f'on {where}: {p}' for p in message['problems']], 'warm start across workers'
        )
    return _errors.ApplyError(
        f'The warm start failed on {where}: {message["message"]}. No variable was changed on '
        f'any worker. Its log has the details. Received: this task {task.name}'
    )


# ---- assigning, all or none ------------------------------------------------------


def _assign_agreed(
    task: _collective.Task, values: list[_PartValue], prefix: str, error: Exception | None
) -> None:
    """Assigns on every task; if any task failed, every task restores its old values.

    Args:
      task: This task.
      values: (part, value) pairs to assign.
      prefix: The checkpoint, for messages.
      error: What already went wrong on this task (then it assigns nothing).
    """
    done: list[tuple[_variables.Part, Any]] = []
    if error is None:
        try:
            done = _apply.assign_all(values, prefix, keep_old=True)
        except _errors.ApplyError as e:
            error = e  # This task already restored what it had assigned.
    failed = task.gather([1 if error else 0])[:, 0]
    if not failed.any():
        return
    not_restored = _apply.undo(done)
    where = [r for r, f in enumerate(failed) if f]
    state = (
        f'this task could not restore {not_restored}; re-create the model'
        if not_restored
        else 'no variable was changed on this task'
    )
    cause = f' Here: {type(error).__name__}: {_errors.first_line(error)}.' if error else ''
    raise _errors.ApplyError(
        f'Sending or assigning the warm-start values failed on the workers at first replicas '
        f'{where} (see their logs); {state}.{cause} Received: this task {task.name}'
    ) from error


def _notes(task: _collective.Task, message: dict[str, Any]) -> str:
    nbytes = sum(
        int(np.prod(s, dtype=np.int64)) * tf.as_dtype(d).size for _, d, s in message['parts']
    )
    if task.is_planner:
        return (
            f'MultiWorkerMirroredStrategy: planned and read on this task ({task.name}); '
            f"{nbytes} bytes sent to every worker through the strategy's all-reduce."
        )
    return (
        f'MultiWorkerMirroredStrategy: {nbytes} bytes received from the chief (the task of '
        f"replica 0) through the strategy's all-reduce; this task ({task.name}) read no "
        'checkpoint or vocabulary.'
    )
