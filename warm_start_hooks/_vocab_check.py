"""The vocabulary stage of planning: read, check and match the vocabularies of a `VocabInfo`.

Do not import this module directly; use `import warm_start_hooks` instead.

`check_pair` is the one place a warm start reads vocabularies. Everything a
plan needs from them (problems, notes, the remapping, and the old vocabulary
when a donor token must be found) comes from that call, so a caller that
will never apply a plan (a non-chief worker of a parameter-server cluster)
can plan without it, and read nothing.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from warm_start_hooks import _errors
from warm_start_hooks import _lookalikes
from warm_start_hooks import _memory
from warm_start_hooks import _settings
from warm_start_hooks import _vocab


@dataclasses.dataclass(frozen=True)
class PairCheck:
    """What the vocabularies of one `VocabInfo` give one variable.

    Attributes:
      remapping: The remapping; None when there are problems.
      problems: What makes the pair unusable, one message each.
      notes: Things worth knowing (CRLF line ends, whitespace look-alikes),
        given for the first variable that uses the pair.
      old: The old vocabulary, when `new_row_init` names a donor token to find
        in it; None otherwise (a plan need not hold it).
    """

    remapping: _vocab.Remapping | None
    problems: list[str]
    notes: list[str]
    old: _vocab.Vocab | None


def read_cached(vocab: _settings.Vocab, cache: dict) -> _vocab.Vocab:
    """`vocab` read once per `cache` (a plan's): a path by its name, a sequence by identity."""
    if isinstance(vocab, (str, bytes, os.PathLike)):
        key: tuple[str, Any] = ('vocab', os.fsdecode(vocab))
    else:
        key = ('list', id(vocab))
    if key not in cache:
        cache[key] = _vocab.read_vocab(vocab)
    return cache[key]


def check_pair(
    info: _settings.VocabInfo,
    var_name: str,
    cache: dict[Any, Any],
    old_rows: int | None = None,
    tensor: str | None = None,
) -> PairCheck:
    """Reads, checks and matches the vocabularies of `info` for one variable.

    This is all the vocabulary work of a warm start. A pair shared by several
    variables (and their optimizer slots) is read, checked and matched once
    per `cache`; only a clean check is remembered, so each variable reports
    its own problems.

    Args:
      info: The variable's `VocabInfo` (its fields already validated).
      var_name: The variable, for the messages.
      cache: What earlier calls read and computed; a dict kept for one plan.
      old_rows: Rows (or columns) of the checkpoint tensor along the remapped
        axis, if known: the old vocabulary must not be longer.
      tensor: The checkpoint tensor's key, for the messages.

    Returns:
      The `PairCheck`.
    """
    try:
        new = read_cached(info.new_vocab, cache)
        old = read_cached(info.old_vocab, cache)
    except _errors.VocabError as e:
        return PairCheck(None, [f'variable {var_name!r}: {e}'], [], None)
    pair = ('pair', id(new), info.new_vocab_size, id(old), info.old_vocab_size)
    fits = 0 < info.new_vocab_size <= len(new) and info.old_vocab_size <= len(old) > 0
    if pair not in cache and fits:
        # Matched before the checks: the sort that matches also proves the tokens distinct.
        cache[pair] = _vocab.remapping(new, info.new_vocab_size, old, info.old_vocab_size)
    found = _pair_problems(info, var_name, cache, new, old, old_rows, tensor)
    if found:
        return PairCheck(None, found, [], None)
    notes = []
    if ('notes', pair) not in cache:
        cache[('notes', pair)] = True
        if pair not in cache:
            cache[pair] = _vocab.remapping(new, info.new_vocab_size, old, info.old_vocab_size)
        if new.crlf or old.crlf:
            notes.append('a vocabulary has CRLF line ends (stripped).')
        notes += _lookalikes.notes(
            old, new, var_name, info.old_vocab_size, info.new_vocab_size, cache[pair].old_index
        )
        new.release()
        old.release()
        _memory.return_free_memory()
    remap = dataclasses.replace(cache[pair], num_oov_buckets=info.num_oov_buckets)
    if not info.allow_no_overlap:
        found = _vocab.overlap_problems(remap, new, old, info.old_vocab_size, var_name)
    # A plan keeps the old vocabulary only to find a donor token when it applies.
    keep = old.without_cache() if isinstance(info.new_row_init, tuple) else None
    return PairCheck(None if found else remap, found, [] if found else notes, keep)


def _pair_problems(
    info: _settings.VocabInfo,
    var_name: str,
    cache: dict[Any, Any],
    new: _vocab.Vocab,
    old: _vocab.Vocab,
    old_rows: int | None,
    tensor: str | None,
) -> list[str]:
    """What makes the vocabularies of `info` unusable (see `check_pair`)."""
    found = []
    for vocab, size, role in ((new, info.new_vocab_size, 'new'), (old, info.old_vocab_size, 'old')):
        clean = ('clean', id(vocab), size)
        if clean not in cache:
            these = _vocab.problems(vocab, size, role, var_name)
            found += these
            if not these:
                cache[clean] = True
    old_used = len(old.used(info.old_vocab_size))
    if old_rows is not None and old_used > old_rows:
        found.append(
            f'variable {var_name!r}: the old vocabulary has {old_used} tokens but checkpoint '
            f'tensor {tensor!r} has only {old_rows} {"rows" if info.axis == 0 else "columns"}. '
            'Is old_vocab the one this checkpoint was trained with? Received: '
            f'old_vocab={old.source!r}'
        )
    donor = info.new_row_init
    if isinstance(donor, tuple) and old.find(donor[1], old_used) < 0:
        found.append(
            f'variable {var_name!r}: donor token {donor[1]!r} of new_row_init is not in the old '
            f'vocabulary. Received: new_row_init={donor!r}'
        )
    return found
