"""Planning, stage 3: vocabulary remaps, checked and computed.

Do not import this module directly; use `import warm_start_hooks` instead.

For each target with a `VocabInfo` (or a slot whose variable has one), the
info is checked against the variable and its tensor, both vocabularies are
read and checked, and the remapping is computed. Vocabularies are read once,
and a pair shared by several variables (and their slots) is checked and
remapped once. All vocabulary reading, checking and matching goes through
`_vocab_check.check_pair`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from warm_start_hooks import _entries
from warm_start_hooks import _lookup_note
from warm_start_hooks import _plan_select
from warm_start_hooks import _settings
from warm_start_hooks import _vocab
from warm_start_hooks import _vocab_check

# A remap's result: the remapping, the info used, and the old vocabulary read (kept only
# when a donor token's row is copied: `new_row_init=('copy', token)`).
Remap = tuple[_vocab.Remapping, _settings.VocabInfo, _vocab.Vocab | None]


@dataclasses.dataclass
class Vocabs:
    """What stage 3 hands on, keyed by `id(target)`."""

    remaps: dict[int, Remap]
    stats: dict[int, _entries.VocabStats]
    notes: list[str]
    problems: list[str]


def info_for(target: Any, sel: _plan_select.Selected) -> _settings.VocabInfo | None:
    """The VocabInfo of `target`, or of the variable it is a slot of.

    A slot follows its variable's remap; its new rows keep the slot's own
    initial value (the optimizer's), so the info's initialiser is replaced.
    """
    info = sel.vocab_infos.get(id(target))
    slot = sel.slots.get(id(target))
    if info is None and slot is not None and slot.parents:
        # Stage 2 refused a slot whose variables (sharing a name) differ in their infos.
        parent = sel.vocab_infos.get(id(slot.parents[0]))
        if parent is not None:
            info = dataclasses.replace(
                parent, backup_initializer=None, new_row_init=_settings.NEW_ROW_FRESH
            )
    return info


def plan_vocab(
    settings: _settings.WarmStartSettings,
    sel: _plan_select.Selected,
    resolved: dict[int, Any],
    source: Any,
    dtype_ok: Any,
    root: Any = None,
) -> Vocabs:
    """Stage 3: checks and computes the remap of every target that has a VocabInfo.

    Args:
      settings: The settings.
      sel: Stage 1's targets and infos.
      resolved: Stage 2's `Resolution` per target.
      source: The checkpoint.
      dtype_ok: `(target, source dtype) -> bool`; a target whose dtype cannot
        take the tensor's is left to the dtype policy's message.
      root: The model warm-started, if known; its lookup layers are compared with
        the vocabularies (`_lookup_note.layout_note`).

    Returns:
      The remaps, their counts, notes and problems.
    """
    out = Vocabs({}, {}, [], [])
    cache: dict[Any, Any] = {}
    for t in sel.targets:
        r = resolved.get(id(t))
        info = info_for(t, sel)
        if r is None or r.key is None or info is None or id(t) in sel.bad_infos:
            continue
        if not dtype_ok(t, source.dtypes[r.key]):
            continue
        found = _plan_one(t, r.key, source, info, settings, cache)
        if isinstance(found, list):
            out.problems += found
            continue
        out.remaps[id(t)], out.stats[id(t)], notes = found
        out.notes += [f'{t.name}: {note}' for note in notes]
        if id(t) not in sel.slots:  # A slot shares its variable's VocabInfo: one note.
            out.notes += _layout_notes(t, info, cache, root)
    return out


def _layout_notes(
    target: Any, info: _settings.VocabInfo, cache: dict[Any, Any], root: Any
) -> list[str]:
    """A warning when a vocabulary looks like a Keras lookup layer's but is not used as one."""
    new, old = (_vocab_check.read_cached(v, cache) for v in (info.new_vocab, info.old_vocab))
    note = _lookup_note.layout_note(target.name, new, old, info.num_oov_buckets, root)
    return [note] if note else []


def _plan_one(
    target: Any,
    key: str,
    source: Any,
    info: _settings.VocabInfo,
    settings: _settings.WarmStartSettings,
    cache: dict[Any, Any],
) -> tuple[Remap, _entries.VocabStats, list[str]] | list[str]:
    """(Remap, VocabStats, notes) for one target, or its problems."""
    src_shape, src_dtype = source.shapes[key], source.dtypes[key]
    problems = _shape_problems(target, key, src_shape, info)
    if len(target.full_shape) != 2 or len(src_shape) != 2:
        return problems
    problems += _info_problems(target, info, src_dtype, settings)
    checked = _vocab_check.check_pair(info, target.name, cache, src_shape[info.axis], key)
    problems += checked.problems
    remap = checked.remapping
    if problems or remap is None:  # A remapping comes with no problems, and only then.
        return problems
    return (remap, info, checked.old), _stats(remap, info), checked.notes


def _shape_problems(
    target: Any, key: str, src_shape: Sequence[int], info: _settings.VocabInfo
) -> list[str]:
    name, shape = target.name, target.full_shape
    if len(shape) != 2:
        return [
            f'variable {name!r} has a VocabInfo but is {len(shape)}-D (shape {list(shape)}); a '
            'vocabulary remap needs a 2-D variable (rows x columns). Remove its VocabInfo. '
            f'Received: shape={list(shape)}'
        ]
    if len(src_shape) != 2:
        return [
            f'variable {name!r}: checkpoint tensor {key!r} is {len(src_shape)}-D; a remap '
            f'needs 2-D. Received: shape={list(src_shape)}'
        ]
    problems = []
    axis, total = info.axis, info.new_vocab_size + info.num_oov_buckets
    if shape[axis] != total:
        problems.append(
            f'variable {name!r} has {shape[axis]} {"rows" if axis == 0 else "columns"}, but its '
            f'VocabInfo gives new_vocab_size + num_oov_buckets = {info.new_vocab_size} + '
            f'{info.num_oov_buckets} = {total}. Fix the sizes. Received: shape={list(shape)}'
        )
    other = 1 - axis
    if src_shape[other] != shape[other]:
        problems.append(
            f'variable {name!r} has shape {list(shape)} and checkpoint tensor {key!r} has '
            f'{list(src_shape)}: axis {other} must match (only axis {axis} is remapped). '
            f'Received: shape={list(src_shape)}'
        )
    if target.partitioned and any(p.offset[1] != 0 for p in target.parts):
        problems.append(
            f'variable {name!r} is partitioned along axis 1; a remap supports partitions along '
            'axis 0 only.'
        )
    return problems


def _info_problems(
    target: Any,
    info: _settings.VocabInfo,
    src_dtype: tf.DType,
    settings: _settings.WarmStartSettings,
) -> list[str]:
    """The initialiser, and what the 'tf_ops' backend can do (checked now, not at run time)."""
    name = target.name
    problems: list[str] = []
    if info.backup_initializer is not None and not callable(info.backup_initializer):
        # E.g. a string from a JSON settings file: it is never evaluated.
        problems.append(
            f'variable {name!r}: backup_initializer must be callable, such as '
            'tf.compat.v1.zeros_initializer(). Received: '
            f'backup_initializer={info.backup_initializer!r}'
        )
    if settings.remap_backend != _settings.TF_OPS:
        return problems
    if target.dtype != tf.float32:
        problems.append(
            f"variable {name!r}: remap_backend='tf_ops' supports float32 only. Use the "
            f"default 'numpy' backend. Received: dtype={target.dtype.name}"
        )
    elif src_dtype != tf.float32:
        problems.append(
            f"variable {name!r}: remap_backend='tf_ops' reads float32 checkpoint tensors "
            f'only (LoadAndRemapMatrix), so it cannot cast from {src_dtype.name}. Use the '
            f"default 'numpy' backend. Received: source dtype={src_dtype.name}"
        )
    if not (isinstance(info.new_vocab, str) and isinstance(info.old_vocab, str)):
        problems.append(
            f"variable {name!r}: remap_backend='tf_ops' needs vocabulary files, not lists."
        )
    return problems


def _stats(remap: _vocab.Remapping, info: _settings.VocabInfo) -> _entries.VocabStats:
    if isinstance(info.new_row_init, tuple):
        init = f'copy {info.new_row_init[1]!r}'
    elif info.new_row_init is not None:
        init = info.new_row_init
    elif info.backup_initializer is not None:
        init = getattr(info.backup_initializer, '__name__', type(info.backup_initializer).__name__)
    else:
        init = 'zeros'
    return _entries.VocabStats(
        axis=info.axis,
        kept=remap.kept,
        moved=remap.moved,
        new=remap.new,
        oov=info.num_oov_buckets,
        dropped=remap.dropped,
        new_vocab=_vocab.describe(info.new_vocab),
        old_vocab=_vocab.describe(info.old_vocab),
        init=init,
    )
