"""Selection: which variables a warm start takes, by TensorFlow's rules.

Do not import this module directly; use `import warm_start_hooks` instead.

The first stage of planning. Regexes match at the start of a name, a string
selects among trainable variables and a list among all, as in
`tf.compat.v1.train.warm_start`; in graph mode the regexes see TensorFlow's
own names (`'emb/part_0:0'`), so a selection is what TensorFlow's would be.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from warm_start_hooks import _names
from warm_start_hooks import _settings
from warm_start_hooks import _variables


@dataclasses.dataclass
class Selection:
    """The outcome of selection.

    Attributes:
      targets: Selected targets, in pool order.
      problems: Messages about the selection itself.
      vocab_only: `vars_to_warm_start=None`: only VocabInfo variables.
    """

    targets: list[_variables.Target]
    problems: list[str]
    vocab_only: bool = False


def select(vars_to_warm_start: Any, collection: str | None, pool: _variables.Pool) -> Selection:
    """Selects targets by TensorFlow's rules, or by an explicit collection.

    A regex string (or None) selects among trainable variables; a list of
    regexes among all variables; a list of variables is taken as given.
    `collection` overrides which pool regexes search. Regexes match at the
    start of a name (as `tf.compat.v1.get_collection` does); in graph mode
    they see TensorFlow's names ('dense/kernel:0', 'emb/part_0:0'), exactly
    as TensorFlow's `warm_start` does, and a selection that takes some
    partitions of a variable but not all is refused. `global_step` is only
    selected when a pattern names it or it is passed as an object.
    """
    v = vars_to_warm_start
    if (
        isinstance(v, (list, tuple))
        and v
        and all(_variables.is_variable(x) or is_group(x) for x in v)
    ):
        return Selection([pool.same(t) for t in _variables.to_targets(v)], [])
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
    where = 'trainable' if base == _settings.TRAINABLE else 'global'
    matched: dict[int, set[int]] = {}  # id(target) -> indices of the parts matched.
    for pattern in patterns:
        regex = re.compile(pattern)
        hits = 0
        for t in pool_targets:
            if _names.is_global_step(t.name) and 'global_step' not in pattern:
                continue
            parts = _matched_parts(regex, t, pool.graph)
            if parts:
                hits += 1
                matched.setdefault(id(t), set()).update(parts)
        if not hits and v is not None:
            problems.append(_no_match(pattern, pool_targets, where, pool.graph))
    targets = []
    for t in pool_targets:
        parts = matched.get(id(t), set())
        if parts and len(parts) < len(t.parts):
            problems.append(_partial(t, parts, patterns))
        elif parts:
            targets.append(t)
    return Selection(targets, problems, vocab_only=v is None)


def is_group(x: Any) -> bool:
    """Whether `x` is one variable stored in parts (`PartitionedVariable`, `ShardedVariable`)."""
    return hasattr(x, '_get_variable_list') or _variables.is_sharded(x)


def _tf_name(variable: Any) -> str | None:
    name = getattr(variable, 'name', None)
    return name if isinstance(name, str) else None


def _matched_parts(regex: re.Pattern, t: _variables.Target, graph: bool) -> set[int]:
    """Indices of the parts of `t` that `regex` selects.

    Graph mode follows TensorFlow: each part's own name ('emb/part_0:0').
    Eager names have no such convention, so the target's name (with or
    without ':0') and its parts' names all select it whole.
    """
    if graph:
        return {i for i, p in enumerate(t.parts) if regex.match(_tf_name(p.variable) or '')}
    names = (t.name, *t.aliases)
    if any(regex.match(n) or regex.match(n + ':0') for n in names):
        return set(range(len(t.parts)))
    return set()


def _no_match(pattern: str, targets: list[_variables.Target], where: str, graph: bool) -> str:
    sample = [t.name for t in targets][:8]
    tip = ''
    if graph and any(_matched_parts(re.compile(pattern), t, graph=False) for t in targets):
        tip = (
            " In graph mode a pattern sees TensorFlow's names, which end in ':0' (and "
            "'/part_N:0' for partitions), as TensorFlow's warm_start does, so it matches "
            "none of them; write ':0$' (or '(/part_\\d+)?:0$') instead of a bare '$'."
        )
    return (
        f'vars_to_warm_start pattern {pattern!r} matches no {where} variable. Expected '
        f'a regex matched from the start of a name, e.g. {sample[:3]}. '
        f'Variables there: {sample}{" ..." if len(targets) > 8 else ""}.{tip} '
        f'Received: pattern={pattern!r}'
    )


def _partial(t: _variables.Target, parts: set[int], patterns: list[str]) -> str:
    names = [_tf_name(t.parts[i].variable) for i in sorted(parts)]
    return (
        f'vars_to_warm_start selects {len(parts)} of the {len(t.parts)} partitions of '
        f'variable {t.name!r} ({names}); a partitioned variable is warm-started whole '
        '(TensorFlow fails on a partial selection). Select every partition, e.g. with '
        f'{t.name + "/"!r}, or none. Received: vars_to_warm_start={patterns!r}'
    )
