"""`init_from_checkpoint`'s assignment map, resolved to variables and checkpoint names.

Do not import this module directly; use `import warm_start_hooks` instead.

Every form TensorFlow accepts: `'ckpt/var': 'var'`, `'ckpt/var': variable`,
`'ckpt/var': [partitions]`, `'ckpt_scope/': 'scope/'`, `'/': 'scope/'` (the
checkpoint's root) and `'var/part_N'` names; a dict or a list of pairs. Every
problem is collected, so the caller raises once.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from warm_start_hooks import _checkpoint
from warm_start_hooks import _errors
from warm_start_hooks import _names
from warm_start_hooks import _plan_select
from warm_start_hooks import _select
from warm_start_hooks import _variables

# (target, checkpoint name) pairs, and problems.
_Found = tuple[list[tuple[_variables.Target, str]], list[str]]


def items_of(assignment_map: Any) -> tuple[list[tuple[Any, Any]], list[str]]:
    """The (checkpoint name, target) pairs of an assignment map, or a problem."""
    if isinstance(assignment_map, Mapping):
        return list(assignment_map.items()), []
    if isinstance(assignment_map, (list, tuple)) and all(
        isinstance(item, (list, tuple)) and len(item) == 2 for item in assignment_map
    ):
        return [tuple(item) for item in assignment_map], []
    return [], [
        'assignment_map must be a dict of checkpoint name (or scope) to a variable, a list of '
        "partitions, a variable name or a scope, e.g. {'old_scope/': 'new_scope/'}, or a list "
        f'of such (name, target) pairs. Received: assignment_map={assignment_map!r}'
    ]


def resolve(
    items: list[tuple[Any, Any]], pool: _variables.Pool, source: _checkpoint.CheckpointSource
) -> tuple[list[tuple[_variables.Target, str]], list[str]]:
    """The (target, checkpoint name) pairs of an assignment map's items, and every problem.

    Args:
      items: The (checkpoint name, target) pairs `items_of` returned.
      pool: Where variable names and scopes are looked up.
      source: The checkpoint the names are found in.

    Returns:
      The pairs, each variable once, and the problems found.
    """
    problems: list[str] = []
    explicit: list[tuple[_variables.Target, str]] = []
    seen: dict[int, str] = {}
    # In checkpoint-name order, as TensorFlow applies them; a key that is not a
    # string is reported by `_resolve_item`.
    for ckpt_name, current in sorted(
        items, key=lambda kv: (not isinstance(kv[0], str), str(kv[0]))
    ):
        pairs, item_problems = _resolve_item(ckpt_name, current, pool, source)
        problems.extend(item_problems)
        for target, key in pairs:
            if id(target) in seen and seen[id(target)] != key:
                problems.append(
                    f'variable {target.name!r} is assigned twice, from {seen[id(target)]!r} and '
                    f'{key!r}. Each variable takes one tensor. Received: {ckpt_name!r}'
                )
                continue
            if id(target) not in seen:
                seen[id(target)] = key
                explicit.append((target, key))
    return explicit, problems


def _resolve_item(ckpt_name: Any, current: Any, pool: _variables.Pool, source: Any) -> _Found:
    """(target, checkpoint name) pairs for one assignment-map item, and problems."""
    if not isinstance(ckpt_name, str):
        return [], [f'assignment_map keys must be checkpoint names. Received: {ckpt_name!r}']
    if _variables.is_variable(current) and getattr(current, '_save_slice_info', None):
        # One partition given alone is a variable of its own, as in TensorFlow:
        # it takes a whole tensor of its own shape.
        name = _names.strip_output_suffix(current.name)
        return [(_standalone_part(name, current), ckpt_name)], []
    if isinstance(current, (list, tuple)) and current:
        return _resolve_list(ckpt_name, current, pool)
    if _variables.is_variable(current) or _select.is_group(current):
        (target,) = _variables.to_targets([current])
        # Reuse the pool's target for the same variable, so it is planned once.
        return [(pool.same(target), ckpt_name)], []
    if not isinstance(current, str):
        return [], [
            'assignment_map values must be a variable, a list of partitions, a variable name '
            f'or a scope. Received: {ckpt_name!r}: {type(current).__name__}'
        ]
    return _resolve_name(ckpt_name, current, pool, source)


def _resolve_list(ckpt_name: str, current: Sequence[Any], pool: _variables.Pool) -> _Found:
    """A list value: the partitions of one variable, as in TensorFlow."""
    if not all(_variables.is_variable(v) for v in current):
        return [], [
            'assignment_map values must be a variable, a list of partitions, a variable name '
            f'or a scope. Received: {ckpt_name!r}: a list of '
            f'{sorted({type(v).__name__ for v in current})}'
        ]
    targets = _variables.to_targets([list(current)])
    whole = len(targets) == 1 and all(
        getattr(v, '_save_slice_info', None) is not None for v in current
    )
    if not whole:
        names = [_variables.variable_name(v) for v in current]
        return [], [
            f'assignment_map maps {ckpt_name!r} to a list of {len(current)} variables {names} '
            'that are not the partitions of one variable; a list stands for one partitioned '
            'variable, and one tensor cannot fill several variables through it (TensorFlow '
            'fails here too). Map each variable on its own: '
            f"[('{ckpt_name}', a), ('{ckpt_name}', b)]. Received: {ckpt_name!r}: {names}"
        ]
    return [(pool.same(targets[0]), ckpt_name)], []


def _resolve_name(ckpt_name: str, current: str, pool: _variables.Pool, source: Any) -> _Found:
    """A variable name, a 'var/part_N' name, or a scope: the targets it names."""
    by_name: dict[str, list[_variables.Target]] = {}
    for t in pool.everything:
        by_name.setdefault(t.name, []).append(t)
    base, part = _names.split_partition(current)
    if current in by_name:
        return _one_named(ckpt_name, current, by_name[current])
    if part is not None and len(by_name.get(base, ())) == 1:
        # 'var/part_N': one partition of a partitioned variable.
        t = by_name[base][0]
        if part < len(t.parts):
            # As in TensorFlow, the partition is a variable of its own: it takes a
            # whole tensor of the partition's shape, not a slice of a full one.
            return [(_standalone_part(current, t.parts[part].variable), ckpt_name)], []
    if not ckpt_name.endswith('/'):
        tip = _errors.did_you_mean(current, by_name)
        return [], [
            f'assignment_map maps {ckpt_name!r} to {current!r}, which names no variable.{tip} '
            "A scope mapping must map a scope to a scope, 'old_scope/': 'new_scope/'. "
            f'Received: {ckpt_name!r}: {current!r}'
        ]
    return _resolve_scope(ckpt_name, current, by_name, source)


def _one_named(ckpt_name: str, name: str, targets: list[_variables.Target]) -> _Found:
    if len(targets) == 1:
        return [(targets[0], ckpt_name)], []
    return [], [
        f'assignment_map maps {ckpt_name!r} to {name!r}, but {len(targets)} variables have that '
        f'name ({_plan_select.describe_all(targets)}), so it cannot tell which one is meant. '
        f"Give the variable itself: {{'{ckpt_name}': variable}}. "
        f'Received: {ckpt_name!r}: {name!r}'
    ]


def _resolve_scope(
    ckpt_name: str, current: str, by_name: dict[str, list[_variables.Target]], source: Any
) -> _Found:
    """The scope form `{'old_scope/': 'new_scope/'}`: every variable under the scope."""
    scope = current[: current.rindex('/')] if '/' in current else ''
    var_scope = f'{scope}/' if scope else ''
    out: list[tuple[_variables.Target, str]] = []
    problems: list[str] = []
    for name, targets in by_name.items():
        key = _names.scope_map(ckpt_name, var_scope, name)
        if key is None:
            continue
        key = key.rstrip('/')
        if not source.keys_for(key):
            problems.append(
                f'scope mapping {ckpt_name!r}: {current!r} maps variable {name!r} to {key!r}, '
                f'which is not in checkpoint {source.prefix!r}.'
                f'{_errors.did_you_mean(key, source.names())}'
            )
            continue
        pairs, found = _one_named(key, name, targets)
        out += pairs
        problems += found
    if not out and not problems:
        problems.append(
            f'assignment_map scope {current!r} holds no variable. '
            f'Received: {ckpt_name!r}: {current!r}'
        )
    return out, problems


def _standalone_part(name: str, variable: Any) -> _variables.Target:
    shape = tuple(int(d) for d in variable.shape)
    part = _variables.Part(variable, (0,) * len(shape), shape)
    dtype = tf.as_dtype(variable.dtype).base_dtype
    return _variables.Target(name, [part], shape, dtype, bool(getattr(variable, 'trainable', True)))
