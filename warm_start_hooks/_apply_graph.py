"""Applying a valid plan in graph mode: initializer overrides.

Do not import this module directly; use `import warm_start_hooks` instead.

Each variable's initializer is overridden, as TensorFlow's warm_start does, so
a `Scaffold` applies it only when no checkpoint of the model itself is
restored. Plain copies share batched `RestoreV2` ops; remaps, overlaps and
copies that `RestoreV2` cannot slice read the checkpoint through numpy when
the initializers run. Every op is built before the first override, and every
read runs after a check that the checkpoint is unchanged since planning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from warm_start_hooks import _distribute
from warm_start_hooks import _errors
from warm_start_hooks import _plan
from warm_start_hooks import _remap
from warm_start_hooks import _variables

# Tensors restored by one RestoreV2 op at most.
_RESTORE_BATCH = 1024

# A part and the tensor of its new value.
_PartValue = tuple[_variables.Part, Any]
# What one restore reads: (entry, its target, one part of it).
_Request = tuple[_plan.PlanEntry, _variables.Target, _variables.Part]


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


def _build_graph_ops(plan: _plan.Plan, graph: tf.Graph) -> list[tuple[_variables.Part, Any, Any]]:
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
        inits: list[_PartValue] = []
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


def _unchanged_check(plan: _plan.Plan) -> Any:
    """A scope whose ops run only after the source was checked unchanged since planning.

    Initializers run when a session starts, maybe long after planning; if the
    checkpoint was rewritten meanwhile, the check fails the run (naming what
    changed) before any warm-start value is read or assigned.
    """

    def check() -> np.int32:
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


def _restore_can_read(plan: _plan.Plan, entry: _plan.PlanEntry) -> bool:
    target = plan.targets[entry.id]
    return not target.partitioned or entry.source_dtype in _SLICEABLE


def _copy_graph_numpy(plan: _plan.Plan, entry: _plan.PlanEntry) -> list[_PartValue]:
    """Each part of a partitioned copy RestoreV2 cannot slice (float16, strings): by numpy."""
    target = plan.targets[entry.id]
    out = []
    for part in target.parts:

        def value(p: _variables.Part = part) -> np.ndarray:
            full = plan.source.read_rows(entry.source_key, p.offset[0], p.offset[0] + p.shape[0])
            cols = tuple(slice(o, o + n) for o, n in zip(p.offset[1:], p.shape[1:]))
            index = (slice(None), *cols)
            return np.asarray(full[index]).astype(_remap.np_dtype(target.dtype), copy=False)

        out.append(
            (part, _distribute.local_numpy_function(value, target.dtype, part.shape, name='copy'))
        )
    return out


def _restore_batched(plan: _plan.Plan, entries: Sequence[_plan.PlanEntry]) -> list[_PartValue]:
    """Restores of the copied parts: one `RestoreV2` per device, in batches."""
    by_device: dict[str, list[_Request]] = {}
    for entry in entries:
        target = plan.targets[entry.id]
        for part in target.parts:
            by_device.setdefault(part.variable.device, []).append((entry, target, part))
    out: list[_PartValue] = []
    for device, requests in by_device.items():
        for i in range(0, len(requests), _RESTORE_BATCH):
            out += _restore(plan, device, requests[i : i + _RESTORE_BATCH])
    return out


def _restore(plan: _plan.Plan, device: str, batch: Sequence[_Request]) -> list[_PartValue]:
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


def _remap_graph(plan: _plan.Plan, name: str) -> list[_PartValue]:
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
        fill = _remap.fill_values(info, part, draw, lambda p: p.variable.initial_value)
        if fill is not None:
            missing = remapper.missing(part)
            mask = missing[:, None] if info.axis == 0 else missing[None, :]
            value = tf.where(tf.constant(mask), fill, value)
        out.append((part, value))
    return out


def _overlap_graph(plan: _plan.Plan, entry: _plan.PlanEntry) -> list[_PartValue]:
    target = plan.targets[entry.id]
    part = target.parts[0]
    src_shape = entry.source_shape
    if src_shape is None:  # Overlaps are planned from the checkpoint tensor's shape.
        raise _errors.ApplyError(
            f'The overlap of {entry.name!r} was planned without its checkpoint shape. This is a '
            f'bug; please report it with the plan. Received: source_key={entry.source_key!r}'
        )
    block = tuple(min(a, b) for a, b in zip(part.shape, src_shape))
    # Built by ops, not as a constant the size of the variable in the graph.
    mask = tf.pad(tf.ones(block, tf.bool), [[0, n - b] for n, b in zip(part.shape, block)])

    def padded() -> np.ndarray:
        full = plan.source.read(entry.source_key)
        out = np.zeros(part.shape, _remap.np_dtype(target.dtype))
        sl = tuple(slice(0, n) for n in block)
        out[sl] = full[sl]
        return out

    old = _distribute.local_numpy_function(padded, target.dtype, part.shape, name='overlap')
    fresh = part.variable.initial_value
    return [(part, tf.where(mask, old, fresh))]


def _assign_op(variable: Any, value: Any, name: str | None = None) -> Any:
    """The op that assigns `value`; `name=None` gives TensorFlow's default op names."""
    from tensorflow.python.ops import resource_variable_ops

    replicated = _distribute.assign_op(variable, value)  # Every copy of a mirrored variable.
    if replicated is not None:
        return replicated
    if resource_variable_ops.is_resource_variable(variable):
        return tf.raw_ops.AssignVariableOp(resource=variable.handle, value=value, name=name)
    return tf.compat.v1.assign(variable, value, name=name).op
