"""Variables: naming, partition grouping and selection, graph and eager alike.

Do not import this module directly; use `import warm_start_hooks` instead.

A `Target` is one logical variable: a plain `tf.Variable`, the parts of a
partitioned variable (`PartitionedVariable`, a list of slices or a
`ShardedVariable`), or a Keras 3 variable. Names follow what users see:
the graph name without `:0`, the full name of a partitioned variable, and
`variable.path` for Keras 3.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from warm_start_hooks import _distribute
from warm_start_hooks import _names


@dataclasses.dataclass(eq=False)
class Part:
    """One stored piece of a target.

    Attributes:
      variable: The variable to assign (a `tf.Variable`, or a Keras 3 variable).
      offset: Where the piece starts in the full variable.
      shape: The piece's shape.
    """

    variable: Any
    offset: tuple[int, ...]
    shape: tuple[int, ...]

    def spec(self, full_shape: Sequence[int]) -> str:
        """The slice spec RestoreV2 takes ('' for an unpartitioned variable)."""
        if tuple(self.shape) == tuple(full_shape):
            return ''
        full = ' '.join(str(d) for d in full_shape)
        sl = ':'.join(f'{o},{n}' for o, n in zip(self.offset, self.shape))
        return f'{full} {sl}'


@dataclasses.dataclass(eq=False)
class Target:
    """One logical variable to warm-start."""

    name: str
    parts: list[Part]
    full_shape: tuple[int, ...]
    dtype: tf.DType
    trainable: bool
    aliases: tuple[str, ...] = ()
    # The object the parts belong to (a `ShardedVariable`), when there is one.
    container: Any = None
    # Where the variable sits below the model it was found in (e.g. 'layers/0/kernel').
    path: str | None = None

    @property
    def owner(self) -> Any:
        """The object a checkpoint's object graph holds: the variable, or its container."""
        if self.container is not None:
            return self.container
        return self.parts[0].variable if len(self.parts) == 1 else None

    @property
    def partitioned(self) -> bool:
        return len(self.parts) > 1 or tuple(self.parts[0].shape) != tuple(self.full_shape)

    @property
    def nbytes(self) -> int:
        n = self.dtype.size
        for d in self.full_shape:
            n *= d
        return n


def is_variable(x: Any) -> bool:
    """Whether `x` is a TF variable or a Keras 3 variable."""
    if isinstance(x, tf.Variable):
        return True
    return _is_keras3_variable(x)


def _is_keras3_variable(x: Any) -> bool:
    return hasattr(x, 'path') and hasattr(x, 'assign') and hasattr(x, 'value')


def variable_name(v: Any) -> str:
    """The name users write for `v`: Keras 3 `path`, else the name without `:0`."""
    if _is_keras3_variable(v):
        return v.path
    info = getattr(v, '_save_slice_info', None)
    if info is not None:
        return info.full_name
    return _names.strip_output_suffix(v.name)


def _shape(v: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in v.shape)


def _dtype(v: Any) -> tf.DType:
    return tf.as_dtype(v.dtype).base_dtype


def _trainable(v: Any) -> bool:
    return bool(getattr(v, 'trainable', True))


def to_targets(objs: Iterable[Any], names: Sequence[str] | None = None) -> list[Target]:
    """Groups variables into targets by identity; the pieces of one variable join.

    Two variables are never merged because they share a name (unnamed
    `tf.Variable`s are all `Variable:0`). Only the slices of one partitioned
    variable (same full name, distinct offsets) and the shards of one
    `ShardedVariable` form one target.

    Args:
      objs: Variables, `PartitionedVariable`s, `ShardedVariable`s, Keras 3
        variables or lists of slices of one variable.
      names: Optional names to use instead of the variables' own.

    Returns:
      One `Target` per logical variable, in first-seen order.
    """
    groups: dict[tuple, list[Any]] = {}
    group_names: dict[tuple, str] = {}
    for i, obj in enumerate(objs):
        pieces = _pieces(obj)
        name = names[i] if names is not None else _group_name(pieces)
        key = ('named', name) if names is not None else _group_key(pieces)
        while key in groups and not _joins(groups[key], pieces):
            key = (*key, 'another')  # Slices of another variable of the same name.
        group = groups.setdefault(key, [])
        group_names.setdefault(key, name)
        for p in pieces:
            if not any(_piece_variable(p) is _piece_variable(q) for q in group):
                group.append(p)
    return [_make_target(group_names[k], pieces) for k, pieces in groups.items()]


def _pieces(obj: Any) -> list[Any]:
    if isinstance(obj, (list, tuple)):
        return list(obj)
    if hasattr(obj, '_get_variable_list'):  # PartitionedVariable
        return obj._get_variable_list()
    if is_sharded(obj):
        return _shards_as_slices(obj)
    if _distribute.container(obj) is not None:  # One shard: its whole variable.
        return _shards_as_slices(_distribute.container(obj))
    return [obj]


def _group_key(pieces: list[Any]) -> tuple:
    first = pieces[0]
    if isinstance(first, tuple):  # Shards, keyed by their ShardedVariable.
        return ('sharded', id(first[3]))
    info = getattr(first, '_save_slice_info', None)
    if info is not None:  # Slices of one partitioned variable share its full name.
        return ('slices', info.full_name)
    return ('variable', id(first))


def _slice_offset(piece: Any) -> tuple[int, ...] | None:
    info = getattr(piece, '_save_slice_info', None)
    return tuple(int(o) for o in info.var_offset) if info is not None else None


def _joins(group: list[Any], pieces: list[Any]) -> bool:
    """Whether `pieces` can join `group`: no other variable already holds their offsets."""
    for p in pieces:
        for q in group:
            same = _piece_variable(p) is _piece_variable(q)
            if not same and _slice_offset(p) is not None and _slice_offset(p) == _slice_offset(q):
                return False
    return True


def _piece_variable(piece: Any) -> Any:
    return piece[0] if isinstance(piece, tuple) else piece


def _group_name(pieces: list[Any]) -> str:
    first = pieces[0]
    if isinstance(first, tuple):  # (variable, offset) from a ShardedVariable.
        return first[2]
    return variable_name(first)


def is_sharded(obj: Any) -> bool:
    """Whether `obj` is a `ShardedVariable`."""
    return _distribute.is_sharded(obj)


def _shards_as_slices(obj: Any) -> list[tuple[Any, tuple[int, ...], str, Any]]:
    name = _distribute.sharded_name(obj)
    out, row = [], 0
    for shard in _distribute.shards(obj):
        shape = _shape(shard)
        out.append((shard, (row,) + (0,) * (len(shape) - 1), name, obj))
        row += shape[0]
    return out


def _make_target(name: str, pieces: list[Any]) -> Target:
    parts = []
    owner = None
    if isinstance(pieces[0], tuple):  # Sharded.
        full = list(_shape(pieces[0][0]))
        full[0] = sum(_shape(v)[0] for v, _, _, _ in pieces)
        for v, offset, _, _ in pieces:
            parts.append(Part(v, offset, _shape(v)))
        base = pieces[0][0]
        full_shape = tuple(full)
        owner = pieces[0][3]
    else:
        base = pieces[0]
        info = getattr(base, '_save_slice_info', None)
        if info is not None:
            full_shape = tuple(int(d) for d in info.full_shape)
            for v in sorted(pieces, key=lambda v: tuple(v._save_slice_info.var_offset)):
                parts.append(
                    Part(v, tuple(int(o) for o in v._save_slice_info.var_offset), _shape(v))
                )
        else:
            full_shape = _shape(base)
            parts = [Part(base, (0,) * len(full_shape), full_shape)]
    aliases = tuple(
        sorted(
            {_names.strip_output_suffix(getattr(p.variable, 'name', '') or '') for p in parts}
            - {name, ''}
        )
    )
    return Target(name, parts, full_shape, _dtype(base), _trainable(base), aliases, owner)


# ---- pools and selection -------------------------------------------------


@dataclasses.dataclass
class Pool:
    """Where selection looks for variables.

    Attributes:
      trainable: Trainable targets (the same objects as in `everything`).
      everything: All targets (global variables).
      graph: Whether these are graph-mode variables.
      root: The object the variables were found in (a model, a `tf.Module`, a
        `tf.train.Checkpoint`), whose object graph a checkpoint may mirror.
    """

    trainable: list[Target]
    everything: list[Target]
    graph: bool
    root: Any = None

    def object_paths(self) -> dict[int, list[str]]:
        """id(variable) -> its object paths below `root` (empty without a root)."""
        return object_paths(self.root) if self.root is not None else {}

    def same(self, target: Target) -> Target:
        """The pool's target of the same variables as `target` (with its path), else `target`."""
        ids = {id(p.variable) for p in target.parts}
        for t in self.everything:
            if {id(p.variable) for p in t.parts} == ids:
                return t
        return target


def graph_pool(graph: tf.Graph | None = None) -> Pool:
    """Targets from the TRAINABLE / GLOBAL collections of a graph."""
    graph = graph or tf.compat.v1.get_default_graph()
    keys = tf.compat.v1.GraphKeys
    everything = to_targets(graph.get_collection(keys.GLOBAL_VARIABLES))
    trainable = _subset(everything, graph.get_collection(keys.TRAINABLE_VARIABLES))
    return Pool(trainable, everything, graph=True)


def _subset(targets: list[Target], variables: list[Any]) -> list[Target]:
    """The targets holding `variables`; variables none holds become targets of their own."""
    ids = {id(v) for v in variables}
    out = [t for t in targets if any(id(p.variable) in ids for p in t.parts)]
    held = {id(p.variable) for t in out for p in t.parts}
    return out + to_targets([v for v in variables if id(v) not in held])


def object_pool(obj: Any) -> Pool:
    """Targets from a Keras model, a `tf.Module`, a list or a name->variable dict.

    Variables made inside a `tf.Graph` (a `tf.Module` built in graph mode) are
    graph-mode variables: applying overrides their initializers.
    """
    graph = not tf.executing_eagerly()
    if isinstance(obj, Mapping):
        names = list(obj.keys())
        targets = to_targets(list(obj.values()), names)
        trainable = [t for t in targets if t.trainable]
        return Pool(trainable, targets, graph=graph)
    if isinstance(obj, (list, tuple)):
        targets = to_targets(obj)
        return Pool([t for t in targets if t.trainable], targets, graph=graph)
    if hasattr(obj, 'trainable_variables') and hasattr(obj, 'variables'):
        targets = to_targets([v for v in obj.variables if not _is_rng_state(v)])
        trainable = _subset(targets, list(obj.trainable_variables))
    elif hasattr(obj, '_trackable_children'):
        # A tf.train.Checkpoint(model=..., optimizer=...) laid out like the source.
        found = [var for var, _ in _walk(obj).values() if not _is_rng_state(var)]
        targets = to_targets(found)
        trainable = [t for t in targets if t.trainable]
    else:
        raise TypeError(
            'variables must be a Keras model, a tf.Module, a tf.train.Checkpoint, a list of '
            f'variables or a dict of name to variable. Received: variables={type(obj).__name__}'
        )
    paths = object_paths(obj)
    for t in targets:
        owner_paths = paths.get(id(t.owner))
        t.path = owner_paths[0] if owner_paths else None
    return Pool(trainable, targets, graph=graph, root=obj)


def trackable_children(obj: Any) -> dict[str, Any]:
    """The children a checkpoint records for `obj` (name -> object); {} if it has none."""
    try:
        return dict(obj._trackable_children(save_type='checkpoint'))
    except (AttributeError, TypeError, ValueError):
        return {}


def _walk(root: Any) -> dict[int, tuple[Any, list[str]]]:
    """Variables reachable from `root` in checkpoint order, with every path to each."""
    out: dict[int, tuple[Any, list[str]]] = {}
    first: dict[int, str] = {id(root): ''}
    queue = [root]
    while queue:
        obj = queue.pop(0)
        for name, child in trackable_children(obj).items():
            base = first[id(obj)]
            path = f'{base}/{name}' if base else name
            if is_variable(child) or is_sharded(child):
                out.setdefault(id(child), (child, []))[1].append(path)
            elif id(child) not in first:
                first[id(child)] = path
                queue.append(child)
    return out


def object_paths(root: Any) -> dict[int, list[str]]:
    """id(variable) -> every object path to it below `root`, as a checkpoint records them."""
    return {var_id: paths for var_id, (_, paths) in _walk(root).items()}


def _is_rng_state(v: Any) -> bool:
    name = variable_name(v)
    return 'seed_generator' in name and name.endswith('state')
