"""Planning, stage 3: vocabulary remaps, checked and computed.

Do not import this module directly; use `import warm_start_hooks` instead.

For each target with a `VocabInfo` (or a slot whose variable has one), the
info is checked against the variable and its tensor, both vocabularies are
read and checked, and the remapping is computed. Vocabularies are read once,
and a pair shared by several variables (and their slots) is checked and
remapped once. All vocabulary reading and checking goes through
`_vocab_checks`, the one place that calls `_vocab`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import tensorflow as tf

from warm_start_hooks import _entries
from warm_start_hooks import _errors
from warm_start_hooks import _lookup_note
from warm_start_hooks import _plan_select
from warm_start_hooks import _settings
from warm_start_hooks import _vocab

# A remap's result: the remapping, the info used, and the old vocabulary read.
Remap = tuple[_vocab.Remapping, _settings.VocabInfo, _vocab.Vocab]


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
        out.remaps[id(t)], out.stats[id(t)], crlf = found
        if crlf:
            out.notes.append(f'{t.name}: a vocabulary has CRLF line ends (stripped).')
        if id(t) not in sel.slots:  # A slot shares its variable's VocabInfo: one note.
            out.notes += _layout_notes(t, info, cache, found[0][2], root)
    return out


def _layout_notes(target, info, cache, old_vocab, root) -> list[str]:
    """A warning when a vocabulary looks like a Keras lookup layer's but is not used as one."""
    new_tokens = _read_cached(info.new_vocab, cache).tokens
    note = _lookup_note.layout_note(
        target.name, new_tokens, old_vocab.tokens, info.num_oov_buckets, root
    )
    return [note] if note else []


def _plan_one(target, key, source, info, settings, cache):
    """(Remap, VocabStats, crlf) for one target, or its problems."""
    src_shape, src_dtype = source.shapes[key], source.dtypes[key]
    problems = _shape_problems(target, key, src_shape, info)
    if len(target.full_shape) != 2 or len(src_shape) != 2:
        return problems
    problems += _info_problems(target, info, src_dtype, settings)
    try:
        new_vocab = _read_cached(info.new_vocab, cache)
        old_vocab = _read_cached(info.old_vocab, cache)
    except _errors.VocabError as e:
        return problems + [f'variable {target.name!r}: {e}']
    problems += _vocab_checks(new_vocab, old_vocab, info, target.name, cache, not problems)
    problems += _fits_checkpoint(target, key, src_shape, info, old_vocab)
    if problems:
        return problems
    remap = _remapping(new_vocab, old_vocab, info, cache)
    return (remap, info, old_vocab), _stats(remap, info), new_vocab.crlf or old_vocab.crlf


def _shape_problems(target, key, src_shape, info) -> list[str]:
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


def _info_problems(target, info, src_dtype, settings) -> list[str]:
    """The initialiser, and what the 'tf_ops' backend can do (checked now, not at run time)."""
    name, problems = target.name, []
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


def _vkey(vocab: Any) -> Any:
    return vocab if isinstance(vocab, str) else ('list', id(vocab))


def _read_cached(vocab: Any, cache: dict) -> _vocab.Vocab:
    k = _vkey(vocab)
    if k not in cache:
        cache[k] = _vocab.read_vocab(vocab)
    return cache[k]


def _vocab_checks(new_vocab, old_vocab, info, name, cache, pair_check: bool) -> list[str]:
    """Each vocabulary's own problems, then the pair's (`_vocab.problems`, `whitespace_problems`).

    A vocabulary shared by several variables is checked once; only a clean
    check is remembered, so every variable reports its own problems.
    """
    problems = []
    for vocab, size, role in (
        (new_vocab, info.new_vocab_size, 'new'),
        (old_vocab, info.old_vocab_size, 'old'),
    ):
        clean = ('clean', id(vocab), size)
        if clean not in cache:
            found = _vocab.problems(vocab, size, role, name)
            problems += found
            if not found:
                cache[clean] = True
    if pair_check and not problems and _pair(new_vocab, old_vocab, info) not in cache:
        problems += _vocab.whitespace_problems(old_vocab, new_vocab, name)
    return problems


def _pair(new_vocab, old_vocab, info) -> tuple:
    return ('pair', id(new_vocab), info.new_vocab_size, id(old_vocab), info.old_vocab_size)


def _old_used(old_vocab, info) -> int:
    used = len(old_vocab.tokens)
    if info.old_vocab_size >= 0:
        # A size beyond the file is its own problem; no second message for it.
        used = min(used, info.old_vocab_size)
    return used


def _fits_checkpoint(target, key, src_shape, info, old_vocab) -> list[str]:
    """The old vocabulary fits the tensor's rows, and a donor token is in it."""
    name, axis, problems = target.name, info.axis, []
    old_used = _old_used(old_vocab, info)
    if old_used > src_shape[axis]:
        problems.append(
            f'variable {name!r}: the old vocabulary has {old_used} tokens but checkpoint tensor '
            f'{key!r} has only {src_shape[axis]} {"rows" if axis == 0 else "columns"}. Is '
            f'old_vocab the one this checkpoint was trained with? Received: '
            f'old_vocab={_vocab.describe(info.old_vocab)!r}'
        )
    donor = info.new_row_init
    if isinstance(donor, tuple) and donor[1] not in old_vocab.tokens[:old_used]:
        problems.append(
            f'variable {name!r}: donor token {donor[1]!r} of new_row_init is not in the old '
            f'vocabulary. Received: new_row_init={donor!r}'
        )
    return problems


def _remapping(new_vocab, old_vocab, info, cache) -> _vocab.Remapping:
    """The remapping, computed once per vocabulary pair, sizes and OOV buckets."""
    pair = _pair(new_vocab, old_vocab, info)
    remap = cache.get(pair + (info.num_oov_buckets,))
    if remap is None:
        remap = _vocab.remapping(
            new_vocab.tokens,
            info.new_vocab_size,
            old_vocab.tokens,
            info.old_vocab_size,
            info.num_oov_buckets,
        )
        cache[pair] = True
        cache[pair + (info.num_oov_buckets,)] = remap
    return remap


def _stats(remap, info) -> _entries.VocabStats:
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
