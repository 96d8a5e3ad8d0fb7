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

In a TF1 cluster (Estimator, `MonitoredTrainingSession`) only the chief
initializes the shared variables; `task_role` tells whether this task is it.
"""

from __future__ import annotations

import dataclasses
import json
import os
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


def multi_worker_strategy(variables: Sequence[Any]) -> Any:
    """The multi-worker strategy that mirrors `variables`, or None.

    Args:
      variables: Variables (`tf.Variable`s, Keras 3 variables).

    Returns:
      The strategy of the first mirrored variable, if its replicas span more
      than one task; None for plain variables, one-machine strategies and
      `ParameterServerStrategy` (whose variables have one copy).
    """
    for v in variables:
        inner = getattr(v, 'value', None) if not isinstance(v, tf.Variable) else v
        if is_distributed(inner):
            strategy = getattr(inner, '_distribute_strategy', None)
            return strategy if is_multi_worker(strategy) else None
    return None


def is_multi_worker(strategy: Any) -> bool:
    """Whether `strategy` keeps mirrored copies on more than one task."""
    if strategy is None:
        return False
    try:
        local = len(strategy.extended.worker_devices)
    except (AttributeError, NotImplementedError, RuntimeError, ValueError):
        return False
    return strategy.num_replicas_in_sync > local


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


# ---- roles -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TaskRole:
    """Whether this task initializes shared variables, and how that was found.

    Attributes:
      is_chief: Whether this task's session initializes the variables (and so
        runs a warm start's overridden initializers).
      task: The task as `'type:index'` (e.g. `'worker:1'`), `''` outside a cluster.
      found_by: Where `is_chief` came from: `'argument'`, `'TF_CONFIG'` or
        `'default'` (no cluster).
    """

    is_chief: bool
    task: str = ''
    found_by: str = 'default'

    def describe(self) -> str:
        """E.g. `'worker:1 (from TF_CONFIG)'`."""
        task = self.task or 'this task'
        return f'{task} (is_chief={self.is_chief}, from {self.found_by})'


def task_role(is_chief: bool | None = None, tf_config: str | None = None) -> TaskRole:
    """This task's role: `is_chief` when given, else from TF_CONFIG.

    TF_CONFIG is read as TensorFlow reads it: the `chief` (or legacy `master`)
    task is the chief; without one, `worker` 0 is (as for
    `MultiWorkerMirroredStrategy`); other workers and `ps` tasks are not; an
    `evaluator` initializes its own variables, so it counts as a chief. With
    no TF_CONFIG, or one without a cluster, this task is the chief.

    Args:
      is_chief: The caller's answer (e.g. `RunConfig.is_chief`), or None.
      tf_config: The TF_CONFIG JSON; defaults to the environment's.

    Returns:
      A `TaskRole`.

    Raises:
      ValueError: TF_CONFIG is not a JSON object with a valid task.
    """
    if tf_config is None:
        tf_config = os.environ.get('TF_CONFIG', '')
    config = _parse_tf_config(tf_config)
    task = config.get('task') or {}
    cluster = config.get('cluster') or {}
    kind, index = task.get('type'), task.get('index', 0)
    name = f'{kind}:{index}' if kind else ''
    if is_chief is not None:
        return TaskRole(bool(is_chief), name, 'argument')
    if not cluster or not kind:
        return TaskRole(True, name, 'default')
    if kind in ('chief', 'master', 'evaluator'):
        chief = True
    elif kind == 'worker':
        chief = index == 0 and not ({'chief', 'master'} & set(cluster))
    elif kind == 'ps':
        chief = False
    else:
        chief = True  # An unknown task type: plan, and let the session tell.
    return TaskRole(chief, name, 'TF_CONFIG')


def _parse_tf_config(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        config = json.loads(text)
    except ValueError as e:
        raise ValueError(
            f'TF_CONFIG is not valid JSON ({e}). Expected e.g. {{"cluster": {{"worker": '
            '["host:port"]}, "task": {"type": "worker", "index": 0}}. '
            f'Received: TF_CONFIG={text[:200]!r}'
        ) from None
    task = config.get('task') if isinstance(config, dict) else None
    if not isinstance(config, dict) or (
        task is not None
        and (not isinstance(task, dict) or not isinstance(task.get('index', 0), int))
    ):
        raise ValueError(
            'TF_CONFIG must be a JSON object whose "task" holds a "type" and an integer '
            f'"index". Received: TF_CONFIG={text[:200]!r}'
        )
    return config


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
