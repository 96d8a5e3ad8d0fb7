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

from warm_start_hooks import _errors, _plan, _remap, _variables

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
    for entry in plan.entries:
        if entry.action == _plan.SKIP:
            continue
        target = plan.targets[entry.name]
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
            out.extend(_remap_values_eager(plan, entry.name))
    return out


def _remap_values_eager(plan, name):
    remap, info, _ = plan.remaps[name]
    target = plan.targets[name]
    draw = None
    if info.backup_initializer is not None:
        draw = np.asarray(_remap.backup_draw(info, target))
    if plan.settings.remap_backend == 'tf_ops':
        values = [np.asarray(v) for v in _remap.tf_ops_parts(plan, name, draw)]
        return list(zip(target.parts, values))
    remapper = _remap.Remapper(plan, name)
    out = []
    for part in target.parts:
        value = remapper.values(part)
        if draw is not None:
            _fill_missing(value, draw, remapper.missing(part), part, info.axis)
        out.append((part, value))
    return out


def _fill_missing(value, draw, missing, part, axis):
    r0 = part.offset[0]
    rows = draw[r0 : r0 + part.shape[0]]
    if axis == 0:
        value[missing] = rows[missing]
    else:
        value[:, missing] = rows[:, missing]


def _slice(full: np.ndarray, part: _variables.Part) -> np.ndarray:
    return full[tuple(slice(o, o + n) for o, n in zip(part.offset, part.shape))]


def _read_variable(v):
    return v.numpy() if hasattr(v, 'numpy') else np.asarray(v)


def apply_eager(plan: _plan.Plan) -> None:
    """Computes every value, then assigns them all."""
    try:
        values = compute_values(plan)
    except _errors.Error as e:
        raise _errors.ApplyError(f'{e} No variable was changed.') from None
    except (tf.errors.OpError, OSError) as e:
        raise _errors.ApplyError(
            f'Reading checkpoint {plan.source.prefix!r} failed while warm-starting: {e}. No '
            'variable was changed.'
        ) from None
    for part, value in values:
        part.variable.assign(value)


# ---- graph ---------------------------------------------------------------


def apply_graph(plan: _plan.Plan) -> None:
    """Overrides initializers; they read the checkpoint when run."""
    first = next((t for t in plan.targets.values()), None)
    if first is None:
        return
    graph = first.parts[0].variable.graph
    inits: list[tuple[_variables.Part, tf.Tensor]] = []
    with graph.as_default(), tf.name_scope('warm_start'):
        copies = [e for e in plan.entries if e.action == _plan.COPY]
        inits += _restore_batched(plan, copies)
        for entry in plan.entries:
            if entry.action == _plan.REMAP:
                inits += _remap_graph(plan, entry.name)
            elif entry.action == _plan.OVERLAP:
                inits += _overlap_graph(plan, entry)
        # Build every op first; override only when all were built.
        ops = [(part, value, _assign_op(part.variable, value)) for part, value in inits]
    for part, value, op in ops:
        part.variable._initializer_op = op  # pylint: disable=protected-access
        part.variable._initial_value = value  # pylint: disable=protected-access


def _restore_batched(plan, entries):
    out = []
    requests = []
    for entry in entries:
        target = plan.targets[entry.name]
        for part in target.parts:
            requests.append((entry, target, part))
    for i in range(0, len(requests), _RESTORE_BATCH):
        batch = requests[i : i + _RESTORE_BATCH]
        with tf.device('/cpu:0'):
            tensors = tf.raw_ops.RestoreV2(
                prefix=plan.source.prefix,
                tensor_names=[e.source_key for e, _, _ in batch],
                shape_and_slices=[p.spec(t.full_shape) for _, t, p in batch],
                dtypes=[tf.as_dtype(e.source_dtype) for e, _, _ in batch],
                name='restore',
            )
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
    if plan.settings.remap_backend == 'tf_ops':
        values = _remap.tf_ops_parts(plan, name, draw)
        return list(zip(target.parts, values))
    remapper = _remap.Remapper(plan, name)
    out = []
    for part in target.parts:
        value = tf.numpy_function(
            lambda p=part: remapper.values(p), [], target.dtype, stateful=True, name='remap'
        )
        value.set_shape(part.shape)
        if draw is not None:
            missing = remapper.missing(part)
            r0 = part.offset[0]
            rows = draw[r0 : r0 + part.shape[0]]
            mask = missing[:, None] if info.axis == 0 else missing[None, :]
            value = tf.where(tf.constant(mask), rows, value)
        out.append((part, value))
    return out


def _overlap_graph(plan, entry):
    target = plan.targets[entry.name]
    part = target.parts[0]
    src_shape = entry.source_shape
    block = tuple(min(a, b) for a, b in zip(part.shape, src_shape))
    mask = np.zeros(part.shape, bool)
    mask[tuple(slice(0, n) for n in block)] = True

    def padded():
        full = plan.source.read(entry.source_key)
        out = np.zeros(part.shape, _remap.np_dtype(target.dtype))
        sl = tuple(slice(0, n) for n in block)
        out[sl] = full[sl]
        return out

    old = tf.numpy_function(padded, [], target.dtype, stateful=True, name='overlap')
    old.set_shape(part.shape)
    fresh = part.variable.initial_value
    return [(part, tf.where(tf.constant(mask), old, fresh))]


def _assign_op(variable, value):
    from tensorflow.python.ops import resource_variable_ops

    if resource_variable_ops.is_resource_variable(variable):
        return tf.raw_ops.AssignVariableOp(resource=variable.handle, value=value, name='assign')
    return tf.compat.v1.assign(variable, value, name='assign').op
