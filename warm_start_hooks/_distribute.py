"""Distributed variables: PS shards, mirrored replicas, and where warm-start ops run.

Do not import this module directly; use `import warm_start_hooks` instead.

Three layouts come from `tf.distribute` and TF1 parameter servers:

  * A `ShardedVariable` (TF2 `ParameterServerStrategy` with a
    `variable_partitioner`) stores row blocks on the parameter servers. Its
    shards are the parts of one target, and a Keras 2 model lists the shards,
    not the `ShardedVariable`: each shard leads back to it. (A Keras 3
    variable that holds a `ShardedVariable` stays one part; its `assign`
    splits the value across the shards.)
  * A `MirroredVariable` (`MirroredStrategy`) holds one copy per replica. An
    eager `assign` in cross-replica context writes every copy; in graph mode
    the override must do the same (`assign_op`).
  * A `PartitionedVariable` placed on `/job:ps` tasks by
    `replica_device_setter`. Its values are computed in Python by
    `tf.numpy_function`, which runs only in the process that built the graph:
    `local_numpy_function` keeps it off the parameter servers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from warm_start_hooks import _names


@dataclasses.dataclass(frozen=True)
class PartDetail:
    """The rows of one stored piece (partition or shard) of a variable.

    Attributes:
      offset: The piece's first row in the full variable.
      rows: How many rows it holds.
      device: Where it lives (e.g. `/job:ps/replica:0/task:1/device:CPU:0`),
        `''` when unplaced.
      copied: Rows that take values from the checkpoint. For a vocabulary
        remap along axis 0, the rows whose token the old vocabulary has.
      new: Rows of new tokens (remap along axis 0), which are initialised.
      oov: OOV bucket rows (remap along axis 0), which are initialised.
    """

    offset: int
    rows: int
    device: str
    copied: int
    new: int = 0
    oov: int = 0


# ---- shards -----------------------------------------------------------------


def is_sharded(obj: Any) -> bool:
    """Whether `obj` is a `ShardedVariable` (TF2 parameter-server sharding)."""
    return type(obj).__name__ == 'ShardedVariable' and hasattr(obj, 'variables')


def container(variable: Any) -> Any:
    """The `ShardedVariable` that `variable` is a shard of, or None."""
    ref = getattr(variable, '_sharded_container', None)
    owner = ref() if callable(ref) else None
    return owner if is_sharded(owner) else None


def shards(sharded: Any) -> list[Any]:
    """The shards of a `ShardedVariable`, first rows first."""
    return list(sharded.variables)


def sharded_name(sharded: Any) -> str:
    """The name users see: the shards' name without `/part_N` (`'emb'` for `'emb/part_0:0'`).

    A `ShardedVariable`'s own `name` is often just `'ShardedVariable'`.
    """
    pieces = shards(sharded)
    if pieces:
        base, part = _names.split_partition(_names.strip_output_suffix(pieces[0].name))
        if part is not None:
            return base
    return _names.strip_output_suffix(sharded.name)


# ---- replicas ---------------------------------------------------------------


def is_distributed(variable: Any) -> bool:
    """Whether `variable` holds one copy per replica (e.g. a `MirroredVariable`)."""
    return isinstance(variable, tf.distribute.DistributedValues)


def replicas(variable: Any) -> tuple[Any, ...]:
    """The per-replica copies of a distributed variable; `(variable,)` otherwise."""
    if is_distributed(variable):
        return tuple(variable.values)
    return (variable,)


def assign_op(variable: Any, value: tf.Tensor) -> tf.Operation | None:
    """Graph mode: an op that assigns `value` to every replica, or None if not distributed.

    The variable's own cross-replica `assign` is used, so each copy is written
    on its own device, as TensorFlow writes them.
    """
    if not is_distributed(variable):
        return None
    op = variable.assign(value, read_value=False)
    return op if isinstance(op, tf.Operation) else tf.group(op, name='assign')


# ---- placement --------------------------------------------------------------


def local_numpy_function(
    fn: Callable[[], Any], dtype: Any, shape: Sequence[Any], name: str
) -> tf.Tensor | list[tf.Tensor]:
    """`tf.numpy_function(fn)` that runs where the Python runs, not on a PS.

    A Python function runs only in the process that built the graph, but an
    op without inputs is placed with its one consumer; an assign to a variable
    on `/job:ps` would pull it onto the parameter server, where it fails
    ('Could not find callback'). With an input and no device scope, the placer
    puts it on the session's own task (the chief or worker running this code).

    Args:
      fn: Returns the value (a list of values for a list of dtypes); called
        with no arguments.
      dtype: The value's dtype, or a list of dtypes: one per value.
      shape: The value's static shape, or a list of shapes: one per value.
      name: The op's name.

    Returns:
      The value tensor, or a list of them.
    """
    with tf.compat.v1.device(None):
        anchor = tf.constant(0, tf.int32, name=f'{name}_anchor')
        value = tf.numpy_function(lambda _: fn(), [anchor], dtype, stateful=True, name=name)
    if not isinstance(dtype, (list, tuple)):
        value.set_shape(shape)
        return value
    for v, s in zip(value, shape):
        v.set_shape(s)
    return list(value)


# ---- report details ---------------------------------------------------------


def part_details(
    parts: Sequence[Any], index: np.ndarray | None = None, new_vocab_size: int = 0
) -> tuple[PartDetail, ...]:
    """Rows per piece: where each lives and how many rows take checkpoint values.

    Args:
      parts: `Part`s of a target (anything with `variable`, `offset` and `shape`).
      index: For a remap along axis 0, the old row of every new row (-1 for
        none); `None` when every row is copied.
      new_vocab_size: Rows of the new vocabulary; those after it are OOV buckets.

    Returns:
      One `PartDetail` per part.
    """
    out = []
    for part in parts:
        r0, n = int(part.offset[0]), int(part.shape[0])  # Parts split rows (axis 0).
        device = _device(part.variable)
        if index is None:
            out.append(PartDetail(r0, n, device, copied=n))
            continue
        rows = np.arange(r0, r0 + n)
        found = index[r0 : r0 + n] >= 0
        oov = rows >= new_vocab_size
        out.append(
            PartDetail(
                r0,
                n,
                device,
                copied=int(np.count_nonzero(found)),
                new=int(np.count_nonzero(~found & ~oov)),
                oov=int(np.count_nonzero(oov)),
            )
        )
    return tuple(out)


def _device(variable: Any) -> str:
    try:
        return str(getattr(variable, 'device', '') or '')
    except (AttributeError, RuntimeError, ValueError):
        return ''
