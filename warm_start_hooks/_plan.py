"""Planning and validation: what each variable gets, checked before anything changes.

Do not import this module directly; use `import warm_start_hooks` instead.

`build_plan` is a pipeline of small stages, each in its own module, each
taking the previous stage's data and adding its own problems:

  1. select (`_plan_select`): the targets, and the per-variable settings keyed
     to each by identity;
  2. resolve sources (`_plan_resolve`): each target's checkpoint tensor, by
     what the user said, by object path, or by name;
  3. vocab (`_plan_vocab`): vocabulary remaps, checked and computed;
  4. policy (`_plan_policy`): dtype and shape policies give each action;
  5. assemble (here): unused configuration, strict mode, notes, the `Plan`.

Every problem is gathered and raised together. A plan that comes back is
valid; applying it changes variables, planning never does.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

import numpy as np

from warm_start_hooks import _checkpoint
from warm_start_hooks import _distribute
from warm_start_hooks import _entries
from warm_start_hooks import _errors
from warm_start_hooks import _keras_file
from warm_start_hooks import _names
from warm_start_hooks import _plan_policy
from warm_start_hooks import _plan_resolve
from warm_start_hooks import _plan_select
from warm_start_hooks import _plan_vocab
from warm_start_hooks import _settings
from warm_start_hooks import _variables

COPY = _entries.COPY
REMAP = _entries.REMAP
OVERLAP = _entries.OVERLAP
SKIP = _entries.SKIP
PlanEntry = _entries.PlanEntry
VocabStats = _entries.VocabStats


@dataclasses.dataclass(eq=False)
class Plan:
    """A validated plan, and what applying it needs.

    Attributes:
      entries: One entry per planned variable, in selection order.
      source: The opened checkpoint.
      settings: The settings it was made from.
      targets: Entry id -> `Target` (ids are unique; names may repeat).
      remaps: Entry id -> (`Remapping`, `VocabInfo`, old `Vocab` if a donor row needs it).
      unused_keys: Checkpoint tensors no entry reads.
      notes: Things worth knowing that are not errors.
      graph: Whether the targets are graph-mode variables.
    """

    entries: list[PlanEntry]
    source: Any
    settings: _settings.WarmStartSettings
    targets: dict[str, _variables.Target]
    remaps: dict[str, _plan_vocab.Remap]
    unused_keys: list[str]
    notes: list[str]
    graph: bool


_NON_MODEL_KEYS = ('_CHECKPOINTABLE_OBJECT_GRAPH', 'save_counter/.ATTRIBUTES/VARIABLE_VALUE')


def build_plan(
    settings: _settings.WarmStartSettings,
    pool: _variables.Pool,
    explicit: list[tuple[_variables.Target, str]] | None = None,
    source: Any = None,
) -> Plan:
    """Validates `settings` against the variables in `pool` and the checkpoint.

    Args:
      settings: What to warm-start.
      pool: The variables selection may pick from.
      explicit: `(target, checkpoint name)` pairs that replace selection and
        renaming (`init_from_checkpoint`'s assignment map).
      source: An already opened checkpoint, to read it once.

    Returns:
      A valid `Plan`.

    Raises:
      WarmStartError: Listing every problem found. Nothing was changed.
    """
    problems, rules, source = _prepare(settings, source)
    sel = _plan_select.select_targets(settings, pool, explicit)
    resolved = _plan_resolve.resolve_sources(settings, sel, source, rules, pool)
    dtype_ok = lambda t, d: _plan_policy.dtype_problem(settings, t, d) is None  # noqa: E731
    vocabs = _plan_vocab.plan_vocab(
        settings, sel, resolved.resolutions, source, dtype_ok, pool.root
    )
    decided = _plan_policy.decide(settings, sel, resolved.resolutions, vocabs, source)
    problems += sel.problems + resolved.problems + vocabs.problems + decided.problems
    problems += _unused_rules(rules, resolved.rules_used, sel)
    entries = [decided.entries[id(t)] for t in sel.targets if id(t) in decided.entries]
    unused_keys = _unused_keys(source, entries)
    problems += _strict_problems(settings, unused_keys)
    _errors.raise_if_problems(problems)
    return _assemble(settings, pool, source, sel, entries, vocabs, decided.notes, unused_keys)


def _prepare(
    settings: _settings.WarmStartSettings, source: Any
) -> tuple[list[str], _names.RenameRules | None, Any]:
    """Settings problems, compiled rules and the opened checkpoint (stage 0).

    Settings problems are listed with everything else found, not alone: one
    error shows them all. Checks that a bad setting would derail are skipped.
    """
    problems = settings.problems()
    ckpt = settings.ckpt_to_initialize_from
    if problems and (
        settings.malformed() or not (isinstance(ckpt, (str, os.PathLike)) and os.fspath(ckpt))
    ):
        raise _errors.WarmStartError(problems)
    rules = None
    if settings.rules:
        try:
            rules = _names.RenameRules(settings.rules)
        except _errors.WarmStartError as e:
            problems.extend(e.problems)
        except (TypeError, ValueError):
            pass  # A malformed rule: settings.problems() reported it.
    if source is None:
        try:
            source = open_source(ckpt)
        except _errors.WarmStartError as e:
            raise e.with_earlier(problems) from None
    if settings.rules and rules is None:
        # Without the rules, every name lookup would be wrong.
        _errors.raise_if_problems(problems)
    return problems, rules, source


def _unused_rules(
    rules: _names.RenameRules | None, used: set[int], sel: _plan_select.Selected
) -> list[str]:
    if rules is None:
        return []
    names = sorted({t.name for t in sel.targets})
    return [
        f'rule {i} ({pattern!r}) matches no selected variable in full. Expected a regex that '
        f'matches a whole name such as {names[:3]}. Received: pattern={pattern!r}'
        for i, pattern in enumerate(rules.patterns)
        if i not in used
    ]


def _unused_keys(source: Any, entries: list[PlanEntry]) -> list[str]:
    used = {e.source_key for e in entries if e.source_key is not None}
    return [
        k
        for k in source.keys
        if k not in used and k not in _NON_MODEL_KEYS and '.OPTIMIZER_SLOT' not in k
    ]


def _strict_problems(settings: _settings.WarmStartSettings, unused_keys: list[str]) -> list[str]:
    if not settings.strict:
        return []
    ignore = [re.compile(p) for p in settings.ignore_checkpoint_keys]
    left = [k for k in unused_keys if not any(r.fullmatch(k) for r in ignore)]
    if not left:
        return []
    return [
        f'strict mode: {len(left)} checkpoint tensor(s) are not used: {left[:10]}'
        f'{" ..." if len(left) > 10 else ""}. Warm-start them, or list them in '
        'ignore_checkpoint_keys.'
    ]


def _assemble(
    settings: _settings.WarmStartSettings,
    pool: _variables.Pool,
    source: Any,
    sel: _plan_select.Selected,
    entries: list[PlanEntry],
    vocabs: _plan_vocab.Vocabs,
    notes: list[str],
    unused_keys: list[str],
) -> Plan:
    """Stage 5: the `Plan`, keyed by entry id, with each part's rows where there are parts."""
    targets = {sel.ids[id(t)]: t for t in sel.targets}
    remaps = {sel.ids[i]: remap for i, remap in vocabs.remaps.items()}
    entries = [_with_parts_detail(e, targets, remaps) for e in entries]
    return Plan(
        entries=entries,
        source=source,
        settings=settings,
        targets={e.id: targets[e.id] for e in entries},
        remaps=remaps,
        unused_keys=unused_keys,
        notes=notes,
        graph=pool.graph,
    )


def _with_parts_detail(
    entry: PlanEntry,
    targets: dict[str, _variables.Target],
    remaps: dict[str, _plan_vocab.Remap],
) -> PlanEntry:
    """`entry` with the rows of each part, for a variable stored in several parts."""
    target = targets.get(entry.id)
    if target is None or len(target.parts) < 2 or entry.action == SKIP:
        return entry
    index: np.ndarray | None = None
    new_size = 0
    if entry.id in remaps and remaps[entry.id][1].axis == 0:
        remap = remaps[entry.id][0]
        index, new_size = remap.full_index(), len(remap.old_index)
    return dataclasses.replace(
        entry, parts_detail=_distribute.part_details(target.parts, index, new_size)
    )


def open_source(path: Any) -> Any:
    """Opens a checkpoint (or a Keras `.weights.h5` file); a failure is a `WarmStartError`."""
    try:
        return _keras_file.open_keras_file(path) or _checkpoint.CheckpointSource(path)
    except _errors.CheckpointNotFoundError:
        raise  # A WarmStartError that is also TensorFlow's NotFoundError.
    except _errors.CorruptCheckpointError as e:
        raise _errors.WarmStartError([str(e)]) from None
