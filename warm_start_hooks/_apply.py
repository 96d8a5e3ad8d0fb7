"""Applying a valid plan: initializer overrides in graph mode, assigns in eager mode.

Do not import this module directly; use `import warm_start_hooks` instead.

Graph mode overrides each variable's initializer, as TensorFlow's warm_start
does, so a `Scaffold` applies it only when no checkpoint of the model itself
is restored. Plain copies share batched `RestoreV2` ops. Eager mode computes
every value first and assigns only when all reads succeeded, so a failure
leaves every variable as it was.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from warm_start_hooks import _distribute
from warm_start_hooks import _errors
from warm_start_hooks import _memory
from warm_start_hooks import _plan
from warm_start_hooks import _progress
from warm_start_hooks import _remap
from warm_start_hooks import _settings
from warm_start_hooks import _variables

# Tensors restored by one RestoreV2 op at most.
_RESTORE_BATCH = 1024


def apply(plan: _plan.Plan) -> None:
    """Applies `plan` to its variables (graph or eager, as they are)."""
    if plan.graph:
        apply_graph(plan)
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


def _remap_values_eager(plan, name):
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
        fill = _fill_values(info, part, draw, lambda p=part: np.asarray(_read_variable(p.variable)))
        if fill is not None:
            missing = remapper.missing(part)
            if info.axis == 0:
                value[missing] = fill[missing]
            else:
                value[:, missing] = fill[:, missing]
        out.append((part, value))
    return out


def _fill_values(info, part, draw, fresh):
    """What a part's entries with no old value get, part-shaped; None: the remap's own fill.

    `draw` is the backup initializer's full-shape draw; `fresh()` gives the
    part's own initial value, and is only called for `new_row_init='fresh'`.
    """
    if info.new_row_init == _settings.NEW_ROW_FRESH:
        return fresh()
    if draw is not None:
        r0 = part.offset[0]
        return draw[r0 : r0 + part.shape[0]]
    return None


def _slice(full: np.ndarray, part: _variables.Part) -> np.ndarray:
    return full[tuple(slice(o, o + n) for o, n in zip(part.offset, part.shape))]


def _read_variable(v):
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


def _as_tensor(value):
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


def _snapshot(variable):
    """The variable's value now, kept through later assigns, without a copy.

    A resource variable's read shares its buffer, and an assign that finds the
    buffer shared writes a new one (copy on write), so the snapshot stays as it
    was. Values of objects that are not TensorFlow variables are copied.
    """
    try:
        return tf.identity(tf.convert_to_tensor(variable))
    except (TypeError, ValueError):
        return np.array(_read_variable(variable))


def assign_all(values, prefix: str, keep_old: bool = False):
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
    done = []
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


def undo(done) -> list[str]:
    """Assigns back the old values `assign_all` kept; returns the names it could not restore."""
    not_restored = []
    for part, old in reversed(done):
        try:
            part.variable.assign(old)
        except Exception:  # pylint: disable=broad-except
            not_restored.append(_variables.variable_name(part.variable))
    return sorted(set(not_restored))


# ---- graph ---------------------------------------------------------------


def apply_graph(plan: _plan.Plan) -> None:
    """Overrides initializers; they read the checkpoint when run."""
    first = next((t for t in plan.targets.values()), None)
    if first is None:
        return
    graph = first.parts[0].variable.graph
    try:
        ops = _build_graph_ops(plan, graph)
    except _errors.ApplyError:
        raise
    except Exception as e:  # pylint: disable=broad-except
        raise _errors.ApplyError(
            f'Building the warm-start ops failed: {type(e).__name__}: {_errors.first_line(e)}. '
            'No initializer was changed. Received: '
            f'prefix={plan.source.prefix!r}'
        ) from e
    for part, value, op in ops:
        part.variable._initializer_op = op  # pylint: disable=protected-access
        part.variable._initial_value = value  # pylint: disable=protected-access


def _build_graph_ops(plan, graph):
    """Every (part, value, assign op); builds ops only, overrides nothing.

    Plain copies are built as TensorFlow's `init_from_checkpoint` builds them,
    in the caller's name scope: `RestoreV2` ops named `checkpoint_initializer`
    on the CPU of each variable's device, then the default assign ops. Code
    that inspects a graph by those names keeps working. Remaps, overlaps and
    copies that RestoreV2 cannot slice are built under `warm_start/`. Every
    read runs after the check that the source is unchanged since planning.
    """
    with graph.as_default(), _unchanged_check(plan):
        copies = [e for e in plan.entries if e.action == _plan.COPY]
        sliced = [e for e in copies if not _restore_can_read(plan, e)]
        ops = [
            (part, value, _assign_op(part.variable, value))
            for part, value in _restore_batched(plan, [e for e in copies if e not in sliced])
        ]
        inits: list[tuple[_variables.Part, tf.Tensor]] = []
        with tf.name_scope('warm_start'):
            inits += [pv for e in sliced for pv in _copy_graph_numpy(plan, e)]
            for entry in plan.entries:
                if entry.action == _plan.REMAP:
                    inits += _remap_graph(plan, entry.id)
                elif entry.action == _plan.OVERLAP:
                    inits += _overlap_graph(plan, entry)
            # Build every op first; override only when all were built.
            ops += [
                (part, value, _assign_op(part.variable, value, 'assign')) for part, value in inits
            ]
        return ops


def _unchanged_check(plan):
    """A scope whose ops run only after the source was checked unchanged since planning.

    Initializers run when a session starts, maybe long after planning; if the
    checkpoint was rewritten meanwhile, the check fails the run (naming what
    changed) before any warm-start value is read or assigned.
    """

    def check():
        plan.source.check_unchanged()
        return np.int32(0)

    # Outside the caller's name scope: graph code that filters the ops a warm start adds
    # under its scope (as TensorFlow's own tests do) sees only restores and assigns.
    with tf.compat.v1.get_default_graph().name_scope('warm_start/'):
        checked = _distribute.local_numpy_function(check, tf.int32, [], name='check_source')
    return tf.control_dependencies([checked])


# Dtypes RestoreV2 reads slices of (a partitioned variable's parts); others are read whole.
_SLICEABLE = frozenset(
    {'float32', 'float64', 'bfloat16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'bool'}
    | {'complex64', 'complex128'}
)


def _restore_can_read(plan, entry) -> bool:
    target = plan.targets[entry.id]
    return not target.partitioned or entry.source_dtype in _SLICEABLE


def _copy_graph_numpy(plan, entry):
    """Each part of a partitioned copy RestoreV2 cannot slice (float16, strings): by numpy."""
    target = plan.targets[entry.id]
    out = []
    for part in target.parts:

        def value(p=part):
            full = plan.source.read_rows(entry.source_key, p.offset[0], p.offset[0] + p.shape[0])
            cols = tuple(slice(o, o + n) for o, n in zip(p.offset[1:], p.shape[1:]))
            return np.asarray(full[(slice(None), *cols)]).astype(
                _remap.np_dtype(target.dtype), copy=False
            )

        out.append(
            (part, _distribute.local_numpy_function(value, target.dtype, part.shape, name='copy'))
        )
    return out


def _restore_batched(plan, entries):
    """Restores of the copied parts: one `RestoreV2` per device, in batches."""
    by_device: dict[str, list] = {}
    for entry in entries:
        target = plan.targets[entry.id]
        for part in target.parts:
            by_device.setdefault(part.variable.device, []).append((entry, target, part))
    out = []
    for device, requests in by_device.items():
        for i in range(0, len(requests), _RESTORE_BATCH):
            out += _restore(plan, device, requests[i : i + _RESTORE_BATCH])
    return out


def _restore(plan, device, batch):
    # As TensorFlow places it: on the CPU of the variables' host, which reads the files.
    with tf.device(device), tf.device('/cpu:0'):
        tensors = tf.raw_ops.RestoreV2(
            prefix=plan.source.prefix,
            tensor_names=[e.source_key for e, _, _ in batch],
            shape_and_slices=[p.spec(t.full_shape) for _, t, p in batch],
            dtypes=[tf.as_dtype(e.source_dtype) for e, _, _ in batch],
            name='checkpoint_initializer',
        )
    out = []
    for (entry, target, part), tensor in zip(batch, tensors):
        if entry.cast:
            tensor = tf.cast(tensor, target.dtype)
        tensor.set_shape(part.shape)
        out.append((part, tensor))
    return out


def _remap_graph(plan, name):
    remap, info, _ = plan.remaps[name]
    target = plan.targets[name]
    draw = None
    if info.backup_initializer is not None:
        draw = tf.convert_to_tensor(_remap.backup_draw(info, target), target.dtype)
    if plan.settings.remap_backend == 'tf_ops' and info.new_row_init is None:
        values = _remap.tf_ops_parts(plan, name, draw)
        return list(zip(target.parts, values))
    remapper = _remap.Remapper(plan, name)
    # One op computes every part: the old matrix is read once, in chunks, for all of them.
    values = _distribute.local_numpy_function(
        remapper.all_values,
        [target.dtype] * len(target.parts),
        [part.shape for part in target.parts],
        name='remap',
    )
    out = []
    for part, value in zip(target.parts, values):
        fill = _fill_values(info, part, draw, lambda p=part: p.variable.initial_value)
        if fill is not None:
            missing = remapper.missing(part)
            mask = missing[:, None] if info.axis == 0 else missing[None, :]
            value = tf.where(tf.constant(mask), fill, value)
        out.append((part, value))
    return out


def _overlap_graph(plan, entry):
    target = plan.targets[entry.id]
    part = target.parts[0]
    src_shape = entry.source_shape
    block = tuple(min(a, b) for a, b in zip(part.shape, src_shape))
    # Built by ops, not as a constant the size of the variable in the graph.
    mask = tf.pad(tf.ones(block, tf.bool), [[0, n - b] for n, b in zip(part.shape, block)])

    def padded():
        full = plan.source.read(entry.source_key)
        out = np.zeros(part.shape, _remap.np_dtype(target.dtype))
        sl = tuple(slice(0, n) for n in block)
        out[sl] = full[sl]
        return out

    old = _distribute.local_numpy_function(padded, target.dtype, part.shape, name='overlap')
    fresh = part.variable.initial_value
    return [(part, tf.where(mask, old, fresh))]


def _assign_op(variable, value, name=None):
    """The op that assigns `value`; `name=None` gives TensorFlow's default op names."""
    from tensorflow.python.ops import resource_variable_ops

    replicated = _distribute.assign_op(variable, value)  # Every copy of a mirrored variable.
    if replicated is not None:
        return replicated
    if resource_variable_ops.is_resource_variable(variable):
        return tf.raw_ops.AssignVariableOp(resource=variable.handle, value=value, name=name)
    return tf.compat.v1.assign(variable, value, name=name).op
