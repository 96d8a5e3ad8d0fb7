"""Applying a valid plan: the entry point, and eager mode's compute-then-assign.

Do not import this module directly; use `import warm_start_hooks` instead.

Graph mode (`_apply_graph`) overrides each variable's initializer, as
TensorFlow's warm_start does. Eager mode computes every value first and
assigns only when all reads succeeded, so a failure leaves every variable as
it was; an assign that fails restores the parts assigned before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from warm_start_hooks import _apply_graph
from warm_start_hooks import _errors
from warm_start_hooks import _memory
from warm_start_hooks import _plan
from warm_start_hooks import _progress
from warm_start_hooks import _remap
from warm_start_hooks import _variables


def apply(plan: _plan.Plan) -> None:
    """Applies `plan` to its variables (graph or eager, as they are)."""
    if plan.graph:
        _apply_graph.apply_graph(plan)
    else:
        apply_eager(plan)


# ---- eager ---------------------------------------------------------------


def compute_values(plan: _plan.Plan) -> list[tuple[_variables.Part, np.ndarray]]:
    """Every part's new value as numpy; nothing is assigned."""
    out = []
    todo = [e for e in plan.entries if e.action != _plan.SKIP]
    progress = _progress.Progress(sum(e.nbytes for e in todo), 'Warm start')
    for entry in todo:
        target = plan.targets[entry.id]
        dtype = _remap.np_dtype(target.dtype)
        if entry.action == _plan.COPY:
            full = plan.source.read(entry.source_key)
            for part in target.parts:
                out.append((part, _slice(full, part).astype(dtype, copy=False)))
        elif entry.action == _plan.OVERLAP:
            full = plan.source.read(entry.source_key)
            part = target.parts[0]
            value = np.array(_read_variable(part.variable), dtype)
            block = tuple(slice(0, min(a, b)) for a, b in zip(value.shape, full.shape))
            value[block] = full[block]
            out.append((part, value))
        elif entry.action == _plan.REMAP:
            out.extend(_remap_values_eager(plan, entry.id))
        progress.advance(entry.nbytes)
    return out


def _remap_values_eager(plan: _plan.Plan, name: str) -> list[tuple[_variables.Part, np.ndarray]]:
    remap, info, _ = plan.remaps[name]
    target = plan.targets[name]
    draw = None
    if info.backup_initializer is not None:
        draw = np.asarray(_remap.backup_draw(info, target))
    if plan.settings.remap_backend == 'tf_ops' and info.new_row_init is None:
        values = [np.asarray(v) for v in _remap.tf_ops_parts(plan, name, draw)]
        return list(zip(target.parts, values))
    remapper = _remap.Remapper(plan, name)
    out = []
    for part, value in zip(target.parts, remapper.all_values()):
        fill = _remap.fill_values(
            info, part, draw, lambda p: np.asarray(_read_variable(p.variable))
        )
        if fill is not None:
            missing = remapper.missing(part)
            if info.axis == 0:
                value[missing] = fill[missing]
            else:
                value[:, missing] = fill[:, missing]
        out.append((part, value))
    return out


def _slice(full: np.ndarray, part: _variables.Part) -> np.ndarray:
    return full[tuple(slice(o, o + n) for o, n in zip(part.offset, part.shape))]


def _read_variable(v: Any) -> np.ndarray:
    return v.numpy() if hasattr(v, 'numpy') else np.asarray(v)


def apply_eager(plan: _plan.Plan) -> None:
    """Computes and checks every value, then assigns them all.

    Raises:
      ApplyError: A read, a computation or an assign failed; no variable was changed.
    """
    assign_all(compute_checked(plan), plan.source.prefix)


def compute_checked(plan: _plan.Plan) -> list[tuple[_variables.Part, np.ndarray]]:
    """Every part's new value, each checked against its part's shape; nothing is assigned.

    Raises:
      ApplyError: A read or a computation failed.
    """
    plan.source.check_unchanged()
    try:
        values = compute_values(plan)
    except _errors.ApplyError:
        raise
    except _errors.Error as e:
        raise _errors.ApplyError(f'{e} No variable was changed.') from None
    except Exception as e:  # pylint: disable=broad-except
        # Anything else (an OpError, IndexError or OSError from a short or vanished
        # file, a failing backup_initializer) still leaves every variable as it was.
        raise _errors.ApplyError(
            f'Reading checkpoint {plan.source.prefix!r} failed while warm-starting: '
            f'{type(e).__name__}: {_errors.first_line(e)}. No variable was changed. Expected '
            'the checkpoint to stay intact until the warm start ends; re-run, or choose a '
            f'checkpoint that is not being deleted. Received: prefix={plan.source.prefix!r}'
        ) from e
    wrong = [
        f'{_variables.variable_name(part.variable)}: {list(np.shape(value))} vs {list(part.shape)}'
        for part, value in values
        if tuple(np.shape(value)) != tuple(part.shape)
    ]
    if wrong:
        raise _errors.ApplyError(
            f'Computed values do not fit their variables (value vs variable shape): {wrong}. '
            'No variable was changed. This is a bug; please report it with the plan. '
            f'Received: prefix={plan.source.prefix!r}'
        )
    plan.source.check_unchanged()  # Rewritten while it was read: nothing is assigned.
    return values


# Values from this size on are handed to TensorFlow without a copy (see `_as_tensor`).
_SHARE_MIN_BYTES = 1 << 20


def _as_tensor(value: Any) -> Any:
    """A large numpy value as a tensor that shares its memory; others as they are.

    `variable.assign(array)` converts the array with `tf.convert_to_tensor`,
    which copies it (slowly: seconds for a GiB) and holds both copies at once.
    DLPack hands the buffer over instead, and the assign adopts it. TensorFlow
    expects aligned memory, so an unaligned value is first copied into an
    aligned buffer (`_memory.empty_aligned`), which is fast. Dtypes DLPack
    lacks (bfloat16; bool on TF 2.15) are left to `assign`.
    """
    if not isinstance(value, np.ndarray) or value.nbytes < _SHARE_MIN_BYTES:
        return value
    if not value.flags.c_contiguous or value.ctypes.data % _memory.ALIGNMENT:
        aligned = _memory.empty_aligned(value.shape, value.dtype)
        aligned[...] = value
        value = aligned
    try:
        return tf.experimental.dlpack.from_dlpack(value.__dlpack__())
    except (AttributeError, BufferError, TypeError, ValueError, tf.errors.OpError):
        return value


def _snapshot(variable: Any) -> Any:
    """The variable's value now, kept through later assigns, without a copy.

    A resource variable's read shares its buffer, and an assign that finds the
    buffer shared writes a new one (copy on write), so the snapshot stays as it
    was. Values of objects that are not TensorFlow variables are copied.
    """
    try:
        return tf.identity(tf.convert_to_tensor(variable))
    except (TypeError, ValueError):
        return np.array(_read_variable(variable))


def assign_all(
    values: list[Any], prefix: str, keep_old: bool = False
) -> list[tuple[_variables.Part, Any]]:
    """Assigns every (part, value); if one assign fails, restores those already assigned.

    Args:
      values: (part, value) pairs; the list's items are dropped as they are assigned.
      prefix: The checkpoint, for messages.
      keep_old: Return the old values, for `undo`.

    Returns:
      With `keep_old`, the (part, old value) pairs for `undo`; else `[]`.

    Raises:
      ApplyError: An assign failed; the parts assigned before it were restored.
    """
    done: list[tuple[_variables.Part, Any]] = []
    try:
        for i, (part, value) in enumerate(values):
            old = _snapshot(part.variable)
            part.variable.assign(_as_tensor(value))
            done.append((part, old))
            values[i] = None  # The old value is kept instead: memory stays level.
    except Exception as e:  # pylint: disable=broad-except
        failed = _variables.variable_name(values[len(done)][0].variable)
        not_restored = undo(done)
        if not_restored:
            state = (
                f'{len(not_restored)} part(s) already assigned could not be restored: '
                f'{not_restored[:10]}; re-create the model before retrying.'
            )
        else:
            state = (
                f'The {len(done)} part(s) assigned before it were restored: no variable '
                'was changed.'
            )
        raise _errors.ApplyError(
            f'Assigning {failed!r} failed: {type(e).__name__}: {_errors.first_line(e)}. {state} '
            f'Received: prefix={prefix!r}'
        ) from e
    return done if keep_old else []


def undo(done: Sequence[tuple[_variables.Part, Any]]) -> list[str]:
    """Assigns back the old values `assign_all` kept; returns the names it could not restore."""
    not_restored = []
    for part, old in reversed(done):
        try:
            part.variable.assign(old)
        except Exception:  # pylint: disable=broad-except
            not_restored.append(_variables.variable_name(part.variable))
    return sorted(set(not_restored))
