"""Planning, stage 4: dtype and shape policies decide each target's action.

Do not import this module directly; use `import warm_start_hooks` instead.

A target with a tensor is copied, remapped (stage 3 computed it), copied in
its overlapping block, skipped, or refused, by `dtype_policy` and
`shape_policy`. The result is one `PlanEntry` per target.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from warm_start_hooks import _entries
from warm_start_hooks import _plan_resolve
from warm_start_hooks import _plan_select
from warm_start_hooks import _plan_vocab
from warm_start_hooks import _settings
from warm_start_hooks import _variables


@dataclasses.dataclass
class Decided:
    """What stage 4 hands on: an entry per planned target (by `id(target)`), notes, problems."""

    entries: dict[int, _entries.PlanEntry]
    notes: list[str]
    problems: list[str]


def dtype_problem(
    settings: _settings.WarmStartSettings, target: Any, src: tf.DType, key: str = ''
) -> str | None:
    """Why `target` cannot take tensor `key` of dtype `src`, or None (maybe with a cast)."""
    if src == target.dtype:
        return None
    if settings.dtype_policy == _settings.CAST and src.is_floating and target.dtype.is_floating:
        return None
    return (
        f'variable {target.name!r} is {target.dtype.name} but checkpoint tensor '
        f"{key!r} is {src.name}. Pass dtype_policy='cast' to convert floats, "
        f'or map another tensor. Received: dtype={src.name}'
    )


def decide(
    settings: _settings.WarmStartSettings,
    sel: _plan_select.Selected,
    resolved: dict[int, _plan_resolve.Resolution],
    vocabs: _plan_vocab.Vocabs,
    source: Any,
) -> Decided:
    """Stage 4: the action of every target that has a `Resolution`."""
    out = Decided({}, list(vocabs.notes), [])
    for t in sel.targets:
        r = resolved.get(id(t))
        if r is None:
            continue  # Its problem is listed.
        if r.key is None:
            out.entries[id(t)] = _skip(t, sel, source, None, r.skip)
            continue
        src_shape, src_dtype = source.shapes[r.key], source.dtypes[r.key]
        problem = dtype_problem(settings, t, src_dtype, r.key)
        if problem is not None:
            out.problems.append(problem)
            continue
        if id(t) in sel.bad_infos or _plan_vocab.info_for(t, sel) is not None:
            if id(t) in vocabs.remaps:
                stats = vocabs.stats[id(t)]
                out.entries[id(t)] = _entry(t, sel, source, _entries.REMAP, r, vocab=stats)
            continue  # Otherwise its VocabInfo's problems are listed.
        if tuple(src_shape) == tuple(t.full_shape):
            out.entries[id(t)] = _entry(t, sel, source, _entries.COPY, r)
        else:
            _shape_mismatch(t, sel, source, r, settings, out)
    return out


def _shape_mismatch(
    t: _variables.Target,
    sel: _plan_select.Selected,
    source: Any,
    r: _plan_resolve.Resolution,
    settings: _settings.WarmStartSettings,
    out: Decided,
) -> None:
    src_shape, shape = tuple(source.shapes[r.key]), tuple(t.full_shape)
    policy = _shape_policy(settings.shape_policy, t.name)
    what = (
        f'variable {t.name!r} has shape {list(shape)} but checkpoint tensor {r.key!r} has '
        f'shape {list(src_shape)}'
    )
    if policy == _settings.SKIP:
        out.entries[id(t)] = _skip(t, sel, source, r.key, what)
    elif policy == _settings.OVERLAP and len(src_shape) == len(shape):
        if t.partitioned:
            out.problems.append(f'{what}; overlap copy of a partitioned variable is not supported.')
            return
        reason = what + '; the overlapping block was copied'
        out.entries[id(t)] = _entry(t, sel, source, _entries.OVERLAP, r, reason=reason)
        if len(shape) == 2 and shape[0] != src_shape[0]:
            out.notes.append(
                f"{t.name}: shape_policy='overlap' copied rows by position, but its rows "
                f'changed ({src_shape[0]} -> {shape[0]}); if they stand for vocabulary tokens '
                'and the vocabulary changed, rows are now misaligned: remap them by token with '
                'var_name_to_vocab_info instead.'
            )
    else:
        out.problems.append(f'{what}.{_hint(shape, src_shape)} Received: shape={list(src_shape)}')


def _hint(shape: tuple[int, ...], src_shape: tuple[int, ...]) -> str:
    """How to fix a shape mismatch; a changed vocabulary axis asks for a VocabInfo first."""
    changed = [i for i, (a, b) in enumerate(zip(shape, src_shape)) if a != b]
    if len(shape) == 2 and len(src_shape) == 2 and len(changed) == 1:
        what = 'rows (e.g. an embedding)' if changed[0] == 0 else 'columns (e.g. classes)'
        return (
            f' Only its {what} changed: if they stand for vocabulary tokens, remap them by '
            f'token with var_name_to_vocab_info (VocabInfo(..., axis={changed[0]})). Otherwise '
            "map the right tensor, or set shape_policy='skip' or 'overlap' for it ('overlap' "
            'copies by position).'
        )
    return " Map the right tensor, or set shape_policy='skip' or 'overlap' for it."


def _shape_policy(policy: str | Mapping[str, str], name: str) -> str:
    if isinstance(policy, str):
        return policy
    for pattern, p in policy.items():
        if re.fullmatch(pattern, name):
            return p
    return _settings.ERROR


def _entry(
    t: _variables.Target,
    sel: _plan_select.Selected,
    source: Any,
    action: str,
    r: _plan_resolve.Resolution,
    vocab: _entries.VocabStats | None = None,
    reason: str | None = None,
) -> _entries.PlanEntry:
    src_dtype = source.dtypes[r.key]
    return _entries.PlanEntry(
        name=t.name,
        action=action,
        source_key=r.key,
        shape=tuple(t.full_shape),
        source_shape=tuple(source.shapes[r.key]),
        dtype=t.dtype.name,
        source_dtype=src_dtype.name,
        partitions=len(t.parts),
        nbytes=t.nbytes,
        cast=src_dtype != t.dtype,
        vocab=vocab,
        reason=reason,
        renamed_by=r.renamed_by,
        id=sel.ids[id(t)],
        path=t.path,
        source_path=source.display_name(r.key) if source.object_based else None,
    )


def _skip(
    t: _variables.Target,
    sel: _plan_select.Selected,
    source: Any,
    key: str | None,
    reason: str | None,
) -> _entries.PlanEntry:
    return _entries.PlanEntry(
        name=t.name,
        action=_entries.SKIP,
        source_key=key,
        shape=tuple(t.full_shape),
        source_shape=tuple(source.shapes[key]) if key is not None else None,
        dtype=t.dtype.name,
        source_dtype=source.dtypes[key].name if key is not None else None,
        partitions=len(t.parts),
        nbytes=t.nbytes,
        reason=reason,
        id=sel.ids[id(t)],
        path=t.path,
        source_path=source.display_name(key) if source.object_based and key else None,
    )
