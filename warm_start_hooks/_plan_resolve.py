"""Planning, stage 2: the checkpoint tensor of each target.

Do not import this module directly; use `import warm_start_hooks` instead.

The rule for ambiguous names. A target is a variable, never a name: two
variables that share a name stay two targets. Each finds its tensor by, in
order:

  1. what the user said for it: an assignment map entry, its
     `var_name_to_prev_var_name`, the rule that matches its name, or (a slot)
     what was said for its variable;
  2. otherwise, in an object-based checkpoint, its object path, followed from
     the model given exactly as `tf.train.Checkpoint.restore` follows it;
  3. otherwise its name (or, object-based, the name it was saved under).

A name is refused where it cannot decide: when several selected variables
that share a name would each find their tensor by that name, or when a name
finds several tensors (object-based checkpoints keep every variable's saved
name, and unnamed variables share one), or when a name finds the tensor that
the object graph gives to another variable. The error lists the variables
and says how to name each one: by object (`{v.ref(): 'old name'}`), or by
passing the model so that object paths decide.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from warm_start_hooks import _errors
from warm_start_hooks import _names
from warm_start_hooks import _plan_select
from warm_start_hooks import _settings
from warm_start_hooks import _slots
from warm_start_hooks import _variables

SAME = 'same'
OBJECT_PATH = 'object path'
SAVED_NAME = 'saved name'


@dataclasses.dataclass(frozen=True)
class Resolution:
    """Where one target's value comes from.

    Attributes:
      key: The checkpoint tensor, or None when skipped.
      asked: The checkpoint name looked up (for messages).
      renamed_by: What gave the name (see `PlanEntry.renamed_by`).
      by_identity: Found for this variable itself (object path, a key that is
        the variable, an assignment map), not through its name.
      skip: Why it keeps its fresh value, when it does.
    """

    key: str | None
    asked: str
    renamed_by: str
    by_identity: bool
    skip: str | None = None


@dataclasses.dataclass
class Resolved:
    """What stage 2 hands on: `Resolution`s keyed by `id(target)`, and problems."""

    resolutions: dict[int, Resolution]
    rules_used: set[int]
    problems: list[str]


@dataclasses.dataclass(frozen=True)
class _Ask:
    """The name a target asks the checkpoint for, before it is looked up."""

    name: Any  # A checkpoint name, or `_names.IGNORE`.
    renamed_by: str
    by_identity: bool = False
    default: bool = False  # Nothing was said: the object graph may decide.
    why_ignored: str = ''


def resolve_sources(
    settings: _settings.WarmStartSettings,
    sel: _plan_select.Selected,
    source: Any,
    rules: _names.RenameRules | None,
    pool: _variables.Pool,
) -> Resolved:
    """Stage 2: finds each selected target's tensor, or why it has none."""
    owners = [t.owner for t in sel.targets if t.owner is not None]
    bound = source.bind(pool.root, [id(o) for o in owners]) if source.object_based else {}
    out = Resolved({}, set(), [])
    for t in sel.targets:
        ask = _ask(t, sel, rules, out)
        if ask is None:
            continue
        found = _look_up(t, ask, source, bound, settings)
        if isinstance(found, str):
            out.problems.append(found)
        else:
            out.resolutions[id(t)] = found
    out.problems += _name_conflicts(sel, out.resolutions, source)
    return out


def _ask(
    t: _variables.Target,
    sel: _plan_select.Selected,
    rules: _names.RenameRules | None,
    out: Resolved,
    follow_slots: bool = True,
) -> _Ask | None:
    """What was said for `t`: an assignment, a rename, a rule, or its variable's (slots).

    None when that is itself a problem (recorded in `out`).
    """
    if id(t) in sel.explicit:
        return _Ask(sel.explicit[id(t)], 'assignment_map', by_identity=True)
    if id(t) in sel.prev_names:
        name, by_identity = sel.prev_names[id(t)]
        return _Ask(name, 'var_name_to_prev_var_name', by_identity)
    matches = rules.all_matches(t.name) if rules is not None else []
    out.rules_used.update(m.rule_index for m in matches)
    if len(matches) > 1 and rules is not None:
        patterns = [rules.patterns[m.rule_index] for m in matches]
        out.problems.append(
            f'variable {t.name!r} is matched by {len(matches)} rules ({patterns}); a variable '
            'may be claimed by one rule only. Narrow the patterns.'
        )
        return None
    if matches:
        rule = f'rule {matches[0].rule_index}'
        return _Ask(matches[0].target, rule, why_ignored=f'ignored by {rule}')
    slot = sel.slots.get(id(t)) if follow_slots else None
    if slot is not None and slot.parents:
        return _follow_variable(t, slot, sel, rules, out)
    return _Ask(t.name, SAME, default=True)


def _follow_variable(
    t: _variables.Target,
    slot: _slots.Slot,
    sel: _plan_select.Selected,
    rules: _names.RenameRules | None,
    out: Resolved,
) -> _Ask | None:
    """A slot asks for its variable's checkpoint name, renamed as the variable was."""
    scratch = Resolved({}, set(), [])  # Each variable reports its own problems.
    found = [_ask(p, sel, rules, scratch, follow_slots=False) for p in slot.parents]
    out.rules_used |= scratch.rules_used
    infos = {id(sel.vocab_infos.get(id(p))) for p in slot.parents}
    if any(a is None for a in found):
        return None  # The variable's own problem is listed.
    asks = {a for a in found if a is not None}
    if len(asks) != 1 or len(infos) != 1:
        out.problems.append(
            f'slot {t.name!r} belongs to one of {len(slot.parents)} variables named '
            f'{slot.parents[0].name!r} ({_plan_select.describe_all(list(slot.parents))}), '
            'which are warm-started differently, so it cannot tell which one it follows. Map '
            "the slot itself with var_name_to_prev_var_name={slot.ref(): 'name'} or a rule. "
            f'Received: slot={t.name!r}'
        )
        return None
    (parent,) = asks
    of = f'slot of {slot.parents[0].name}'
    if parent.name is _names.IGNORE:
        why = f'ignored with its variable {slot.parents[0].name!r} ({parent.renamed_by})'
        return _Ask(_names.IGNORE, of, why_ignored=why)
    return _Ask(slot.naming.rename(parent.name), of, default=parent.default)


def _look_up(
    t: _variables.Target,
    ask: _Ask,
    source: Any,
    bound: dict[int, str],
    settings: _settings.WarmStartSettings,
) -> Resolution | str:
    """The tensor `ask` finds for `t`: a `Resolution`, or a problem."""
    if ask.name is _names.IGNORE:
        return Resolution(None, '', ask.renamed_by, True, ask.why_ignored)
    if ask.default and id(t.owner) in bound:
        return Resolution(bound[id(t.owner)], ask.name, OBJECT_PATH, True)
    keys = source.keys_for(ask.name)
    if not keys and ask.default:
        for alias in t.aliases:
            keys = keys or source.keys_for(alias)
    if len(keys) > 1:
        return _ambiguous_tensor(t, ask.name, keys, source)
    if not keys:
        if settings.on_missing == _settings.SKIP:
            why = f'no tensor {ask.name!r} in the checkpoint'
            return Resolution(None, ask.name, ask.renamed_by, ask.by_identity, why)
        return _missing(t, ask.name, source)
    renamed_by = ask.renamed_by
    if ask.default and source.object_based and keys[0] != ask.name:
        renamed_by = SAVED_NAME
    return Resolution(keys[0], ask.name, renamed_by, ask.by_identity)


def _missing(t: _variables.Target, name: str, source: Any) -> str:
    tip = _errors.did_you_mean(name, source.names())
    return (
        f'variable {_shown(t)}: tensor {name!r} is not in checkpoint {source.prefix!r}.{tip} '
        "Map it with var_name_to_prev_var_name or rules, or pass on_missing='skip'. "
        f'Received: name={name!r}'
    )


def _ambiguous_tensor(t: _variables.Target, name: str, keys: list[str], source: Any) -> str:
    shown = [source.display_name(k) for k in keys]
    return (
        f'variable {_shown(t)} looks up {name!r}, which names {len(keys)} tensors in '
        f'checkpoint {source.prefix!r} ({shown}): variables saved under one name, and no '
        'object path decides between them. Pass the model or object the variables belong '
        'to (variables=model, laid out as when it was saved) so that object paths decide, '
        f"or name the tensor by its path: var_name_to_prev_var_name={{v.ref(): '{shown[0]}'}}. "
        f'Received: name={name!r}'
    )


def _shown(t: _variables.Target) -> str:
    return f'{t.name!r} (at {t.path})' if t.path else repr(t.name)


def _name_conflicts(
    sel: _plan_select.Selected, resolutions: dict[int, Resolution], source: Any
) -> list[str]:
    """Variables that share a name and found tensors only by it; names that take another's."""
    problems = []
    by_name: dict[str, list[_variables.Target]] = {}
    for t in sel.targets:
        r = resolutions.get(id(t))
        if id(t) in sel.twins and r is not None and r.key is not None and not r.by_identity:
            by_name.setdefault(t.name, []).append(t)
    for name, twins in by_name.items():
        if len(twins) > 1:
            problems.append(_twins_problem(name, twins, source))
    owner_of: dict[str | None, _variables.Target] = {}
    for t in sel.targets:
        r = resolutions.get(id(t))
        if r is not None and r.renamed_by == OBJECT_PATH:
            owner_of[r.key] = t
    for t in sel.targets:
        r = resolutions.get(id(t))
        if r is not None and r.renamed_by == SAVED_NAME and r.key in owner_of:
            other = owner_of[r.key]
            problems.append(
                f'variable {_shown(t)} found tensor {source.display_name(r.key)!r} by its saved '
                f'name {r.asked!r}, but the object graph gives that tensor to variable '
                f'{_shown(other)}. Map {t.name!r} explicitly (var_name_to_prev_var_name with '
                'the variable as key, or a rule), or leave it out of the selection. '
                f'Received: name={r.asked!r}'
            )
    return problems


def _twins_problem(name: str, twins: list[_variables.Target], source: Any) -> str:
    why = (
        'the checkpoint is name-based, and one name is one tensor'
        if not source.object_based
        else 'no object path from the model given finds them'
    )
    return (
        f'{len(twins)} selected variables are named {name!r} '
        f'({_plan_select.describe_all(twins)}) and would find their tensor by that name, '
        f'but {why}. Say which tensor each takes: var_name_to_prev_var_name keyed by the '
        "variables ({v.ref(): 'name in the checkpoint'}), or select only one of them "
        '(vars_to_warm_start=[variable, ...]); for a checkpoint written by '
        'tf.train.Checkpoint or save_weights, pass the model (variables=model) so that '
        f'object paths decide. Received: name={name!r}'
    )
