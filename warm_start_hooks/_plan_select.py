"""Planning, stage 1: the targets, and the settings keyed to each by identity.

Do not import this module directly; use `import warm_start_hooks` instead.

Selection picks targets (`_select`); then every per-variable setting
(`var_name_to_prev_var_name`, `var_name_to_vocab_info`, an assignment map) is
keyed to the one target it names. A key that is a variable or a `ref()`
names that exact variable; a name that several selected variables share
names none of them for sure, and is refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from warm_start_hooks import _errors
from warm_start_hooks import _select
from warm_start_hooks import _settings
from warm_start_hooks import _slots
from warm_start_hooks import _variables


@dataclasses.dataclass
class Selected:
    """What stage 1 hands on. Dicts are keyed by `id(target)`.

    Attributes:
      targets: The targets to plan, in selection order.
      ids: The plan entry id of each target (its name, made unique).
      prev_names: Checkpoint name from `var_name_to_prev_var_name`, and whether
        its key was the variable itself (not a name).
      vocab_infos: Usable `VocabInfo`s.
      bad_infos: Targets whose `VocabInfo` has problems of its own (listed already).
      explicit: Checkpoint names from an assignment map (`init_from_checkpoint`).
      slots: Optimizer slots among the targets, with the variable each follows.
      twins: Targets that share their name with another selected target.
      problems: Everything wrong so far.
    """

    targets: list[_variables.Target]
    ids: dict[int, str]
    prev_names: dict[int, tuple[str, bool]]
    vocab_infos: dict[int, _settings.VocabInfo]
    bad_infos: set[int]
    explicit: dict[int, str]
    slots: dict[int, _slots.Slot]
    twins: set[int]
    problems: list[str]


def select_targets(
    settings: _settings.WarmStartSettings,
    pool: _variables.Pool,
    explicit: list[tuple[_variables.Target, str]] | None,
) -> Selected:
    """Stage 1: selects the targets and keys the settings to them."""
    if explicit is None:
        selection = _select.select(settings.vars_to_warm_start, settings.collection, pool)
    else:
        selection = _select.Selection([t for t, _ in explicit], [])
    targets = selection.targets
    problems = list(selection.problems)
    all_names = [t.name for t in pool.everything] or [t.name for t in targets]
    prev, found = key_to_targets(
        settings.var_name_to_prev_var_name or {}, 'var_name_to_prev_var_name', targets, all_names
    )
    problems += found
    infos, found = key_to_targets(
        settings.var_name_to_vocab_info or {}, 'var_name_to_vocab_info', targets, all_names
    )
    problems += found
    vocab_infos, bad_infos = _usable_infos(infos)
    slots: dict[int, _slots.Slot] = {}
    if settings.include_slots:
        slots, found = _slots.find_slots(settings, targets, vocab_infos)
        problems += found
    if selection.vocab_only:
        targets = [t for t in targets if _has_vocab(t, vocab_infos, bad_infos, slots)]
    return Selected(
        targets=targets,
        ids=entry_ids(targets),
        prev_names=prev,
        vocab_infos=vocab_infos,
        bad_infos=bad_infos,
        explicit={id(t): name for t, name in explicit or ()},
        slots=slots,
        twins=_twins(targets),
        problems=problems,
    )


def key_to_targets(
    mapping: Mapping[Any, Any], what: str, targets: list[_variables.Target], all_names: list[str]
) -> tuple[dict[int, tuple[Any, bool]], list[str]]:
    """Keys of a per-variable setting -> the selected target each names.

    Args:
      mapping: The setting: keys are names, variables or `ref()`s.
      what: The setting's name, for messages.
      targets: The selected targets.
      all_names: Every variable name there, for "did you mean".

    Returns:
      id(target) -> (value, keyed by the variable itself), and problems.
    """
    by_name: dict[str, list[_variables.Target]] = {}
    for t in targets:
        by_name.setdefault(t.name, []).append(t)
    out: dict[int, tuple[Any, bool]] = {}
    problems, unused = [], []
    for key, value in mapping.items():
        if isinstance(key, str):
            hits, by_identity, shown = by_name.get(key, []), False, key
        else:
            obj = key.deref() if hasattr(key, 'deref') else key
            hit = _target_holding(obj, targets)
            hits, by_identity = [hit] if hit is not None else [], True
            shown = _shown_name(obj)
        if not hits:
            unused.append(shown)
        elif len(hits) > 1:
            problems.append(_ambiguous_key(what, key, hits))
        elif id(hits[0]) in out:
            problems.append(
                f'{what} gives variable {hits[0].name!r} twice (by name and as a variable). '
                f'Give it once. Received: key={shown!r}'
            )
        else:
            out[id(hits[0])] = (value, by_identity)
    selected = sorted({t.name for t in targets})
    for k in sorted(unused):
        problems.append(
            f'{what} has {k!r}, which names no selected variable; it was not used.'
            f'{_errors.did_you_mean(k, selected or all_names)} Fix the name or the selection. '
            f'Received: key={k!r}'
        )
    return out, problems


def _target_holding(obj: Any, targets: list[_variables.Target]) -> _variables.Target | None:
    """The target that `obj` (a variable, partitioned or sharded variable) is, or None."""
    ids = {id(obj)}
    ids.update(id(v) for v in getattr(obj, '_get_variable_list', lambda: [])())
    ids.update(id(v) for v in getattr(obj, 'variables', ()) if _variables.is_variable(v))
    for t in targets:
        if id(t.container) in ids or any(ids & _identities(p.variable) for p in t.parts):
            return t
    return None


def _identities(variable: Any) -> set[int]:
    """ids a key may use for `variable`: itself, and a Keras 3 variable's TF variable.

    Keras 3 variables are unhashable and have no `ref()`; their backing
    `tf.Variable` (`variable.value`) has one.
    """
    out = {id(variable)}
    backing = getattr(variable, '_value', None) if not isinstance(variable, tf.Variable) else None
    if backing is not None:
        out.add(id(backing))
    return out


def _shown_name(obj: Any) -> str:
    try:
        return _variables.variable_name(obj)
    except (AttributeError, TypeError, ValueError):
        return repr(obj)


def _ambiguous_key(what: str, key: str, hits: list[_variables.Target]) -> str:
    return (
        f'{what} has {key!r}, but {len(hits)} selected variables have that name '
        f'({describe_all(hits)}), so it cannot tell which one it means. Key it by the '
        f'variable instead: {{variable.ref(): ...}} (Keras 3: {{variable.value.ref(): ...}}). '
        f'Received: key={key!r}'
    )


def describe_all(targets: list[_variables.Target]) -> str:
    """'Variable at model/w1, Variable at model/b1' (paths where known)."""
    return ', '.join(f'{t.name} at {t.path}' if t.path else t.name for t in targets)


def _usable_infos(
    infos: dict[int, tuple[Any, bool]],
) -> tuple[dict[int, _settings.VocabInfo], set[int]]:
    """VocabInfos converted from TensorFlow's; those with problems set apart."""
    usable: dict[int, _settings.VocabInfo] = {}
    bad: set[int] = set()
    for tid, (info, _) in infos.items():
        if not isinstance(info, _settings.VocabInfo):
            info = _settings.from_tf_vocab_info(info)
        if info is None or info.problems('x'):
            bad.add(tid)  # `settings.problems()` lists them.
        else:
            usable[tid] = info
    return usable, bad


def _has_vocab(
    t: _variables.Target,
    vocab_infos: dict[int, _settings.VocabInfo],
    bad_infos: set[int],
    slots: dict[int, _slots.Slot],
) -> bool:
    """Whether `t` or the variable it is a slot of has a VocabInfo."""
    ids = {id(t)} | {id(p) for p in (slots[id(t)].parents if id(t) in slots else ())}
    return bool(ids & (set(vocab_infos) | bad_infos))


def entry_ids(targets: list[_variables.Target]) -> dict[int, str]:
    """A unique id per target: its name, or for a shared name, name@path (or name#k)."""
    count: dict[str, int] = {}
    for t in targets:
        count[t.name] = count.get(t.name, 0) + 1
    out: dict[int, str] = {}
    seen: set[str] = set()
    k: dict[str, int] = {}
    for t in targets:
        if count[t.name] == 1:
            uid = t.name
        else:
            k[t.name] = k.get(t.name, 0) + 1
            uid = f'{t.name}@{t.path}' if t.path else f'{t.name}#{k[t.name]}'
            while uid in seen:
                uid += '+'
        seen.add(uid)
        out[id(t)] = uid
    return out


def _twins(targets: list[_variables.Target]) -> set[int]:
    count: dict[str, int] = {}
    for t in targets:
        count[t.name] = count.get(t.name, 0) + 1
    return {id(t) for t in targets if count[t.name] > 1}
