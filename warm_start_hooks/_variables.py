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
import re
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from warm_start_hooks import _distribute
from warm_start_hooks import _names
from warm_start_hooks import _settings


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
    """Groups variables into targets; partitions join their full variable.

    Args:
      objs: Variables, `PartitionedVariable`s, `ShardedVariable`s, Keras 3
        variables or lists of slices of one variable.
      names: Optional names to use instead of the variables' own.

    Returns:
      One `Target` per logical variable, in first-seen order.
    """
    groups: dict[str, list[Any]] = {}
    order: list[str] = []
    explicit: dict[str, str] = {}
    for i, obj in enumerate(objs):
        if isinstance(obj, (list, tuple)):
            pieces = list(obj)
        elif hasattr(obj, '_get_variable_list'):  # PartitionedVariable
            pieces = obj._get_variable_list()
        elif _is_sharded(obj):
            pieces = _shards_as_slices(obj)
        elif _distribute.container(obj) is not None:  # One shard: its whole variable.
            pieces = _shards_as_slices(_distribute.container(obj))
        else:
            pieces = [obj]
        name = names[i] if names is not None else _group_name(pieces)
        if name not in groups:
            groups[name] = []
            order.append(name)
        for p in pieces:
            if not any(_piece_variable(p) is _piece_variable(q) for q in groups[name]):
                groups[name].append(p)
        if names is not None:
            explicit[name] = name
    out = []
    for name in order:
        out.append(_make_target(name, groups[name]))
    return out


def _piece_variable(piece: Any) -> Any:
    return piece[0] if isinstance(piece, tuple) else piece


def _group_name(pieces: list[Any]) -> str:
    first = pieces[0]
    if isinstance(first, tuple):  # (variable, offset) from a ShardedVariable.
        return first[2]
    return variable_name(first)


def _is_sharded(obj: Any) -> bool:
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
      trainable: Trainable targets.
      everything: All targets (global variables).
      graph: Whether these are graph-mode variables.
    """

    trainable: list[Target]
    everything: list[Target]
    graph: bool
    root: Any = None

    def object_paths(self) -> dict[int, list[str]]:
        """id(variable) -> its object paths below `root` (empty without a root)."""
        return object_paths(self.root) if self.root is not None else {}


def graph_pool(graph: tf.Graph | None = None) -> Pool:
    """Targets from the TRAINABLE / GLOBAL collections of a graph."""
    graph = graph or tf.compat.v1.get_default_graph()
    keys = tf.compat.v1.GraphKeys
    trainable = to_targets(graph.get_collection(keys.TRAINABLE_VARIABLES))
    everything = to_targets(graph.get_collection(keys.GLOBAL_VARIABLES))
    return Pool(trainable, everything, graph=True)


def object_pool(obj: Any) -> Pool:
    """Targets from a Keras model, a `tf.Module`, a list or a name->variable dict."""
    if isinstance(obj, Mapping):
        names = list(obj.keys())
        targets = to_targets(list(obj.values()), names)
        trainable = [t for t in targets if t.trainable]
        return Pool(trainable, targets, graph=False)
    if isinstance(obj, (list, tuple)):
        targets = to_targets(obj)
        return Pool([t for t in targets if t.trainable], targets, graph=False)
    if hasattr(obj, 'trainable_variables') and hasattr(obj, 'variables'):
        every = [v for v in obj.variables if not _is_rng_state(v)]
        trainable_ids = {id(v) for v in obj.trainable_variables}
        targets = to_targets(every)
        trainable = [t for t in targets if any(id(p.variable) in trainable_ids for p in t.parts)]
        if not trainable:
            trainable = to_targets(obj.trainable_variables)
        return Pool(trainable, targets, graph=False, root=obj)
    if hasattr(obj, '_trackable_children'):
        # A tf.train.Checkpoint(model=..., optimizer=...) laid out like the source.
        found = {}
        for var_id, (var, _) in _walk(obj).items():
            if not _is_rng_state(var):
                found[var_id] = var
        targets = to_targets(list(found.values()))
        return Pool([t for t in targets if t.trainable], targets, graph=False, root=obj)
    raise TypeError(
        'variables must be a Keras model, a tf.Module, a tf.train.Checkpoint, a list of '
        f'variables or a dict of name to variable. Received: variables={type(obj).__name__}'
    )


def _walk(root: Any) -> dict[int, tuple[Any, list[str]]]:
    """Variables reachable from `root` in checkpoint order, with every path to each."""
    out: dict[int, tuple[Any, list[str]]] = {}
    first: dict[int, str] = {id(root): ''}
    queue = [root]
    while queue:
        obj = queue.pop(0)
        try:
            children = obj._trackable_children(save_type='checkpoint')
        except (AttributeError, TypeError, ValueError):
            continue
        for name, child in children.items():
            base = first[id(obj)]
            path = f'{base}/{name}' if base else name
            if is_variable(child) or _is_sharded(child):
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


@dataclasses.dataclass
class Selection:
    """The outcome of selection.

    Attributes:
      targets: Selected targets, in pool order.
      problems: Messages about the selection itself.
      vocab_only: `vars_to_warm_start=None`: only VocabInfo variables.
    """

    targets: list[Target]
    problems: list[str]
    vocab_only: bool = False


def select(vars_to_warm_start: Any, collection: str | None, pool: Pool) -> Selection:
    """Selects targets by TensorFlow's rules, or by an explicit collection.

    A regex string (or None) selects among trainable variables; a list of
    regexes among all variables; a list of variables is taken as given.
    `collection` overrides which pool regexes search. Regexes match at the
    start of a name (as `tf.compat.v1.get_collection` does). `global_step`
    is only selected when a pattern names it or it is passed as an object.
    """
    v = vars_to_warm_start
    if isinstance(v, (list, tuple)) and v and all(is_variable(x) or _is_group(x) for x in v):
        return Selection(to_targets(v), [])
    if v is None or isinstance(v, str):
        patterns = ['.*' if v is None else v]
        base = collection or _settings.TRAINABLE
    elif isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
        patterns = list(v)
        base = collection or _settings.ALL
    else:
        kinds = sorted({type(x).__name__ for x in v} if isinstance(v, (list, tuple)) else [])
        return Selection(
            [],
            [
                'vars_to_warm_start must be a regex string, a list of regex strings, a list of '
                'variables or None (all given as one kind). '
                f'Received: vars_to_warm_start of type {type(v).__name__} {kinds or ""}'
            ],
        )
    pool_targets = pool.trainable if base == _settings.TRAINABLE else pool.everything
    problems = _names.regex_problems(patterns, 'vars_to_warm_start')
    if problems:
        return Selection([], problems)
    chosen: dict[int, Target] = {}
    for pattern in patterns:
        regex = re.compile(pattern)
        hits = [t for t in pool_targets if _matches(regex, t)]
        hits = [t for t in hits if not _names.is_global_step(t.name) or 'global_step' in pattern]
        if not hits and v is not None:
            where = 'trainable' if base == _settings.TRAINABLE else 'global'
            sample = [t.name for t in pool_targets][:8]
            problems.append(
                f'vars_to_warm_start pattern {pattern!r} matches no {where} variable. Expected '
                f'a regex matched from the start of a name, e.g. {sample[:3]}. '
                f'Variables there: {sample}{" ..." if len(pool_targets) > 8 else ""}. '
                f'Received: pattern={pattern!r}'
            )
        for t in hits:
            chosen[id(t)] = t
    targets = [t for t in pool_targets if id(t) in chosen]
    return Selection(targets, problems, vocab_only=v is None)


def _is_group(x: Any) -> bool:
    return hasattr(x, '_get_variable_list') or _is_sharded(x)


def _matches(regex: re.Pattern, t: Target) -> bool:
    names = (t.name, *t.aliases)
    return any(regex.match(n) or regex.match(n + ':0') for n in names)
