"""Whitespace look-alikes: tokens that differ only by surrounding whitespace.

Do not import this module directly; use `import warm_start_hooks` instead.

`'the'` and `' the'` are two tokens of a byte-level BPE vocabulary; `' '`
and `'\\u3000'` two tokens of a character vocabulary. TensorFlow matches
tokens exactly, and so does a warm start: look-alikes are never refused and
never stripped. They are reported as notes, since a vocabulary file whose
lines gained or lost spaces looks the same way.
"""

from __future__ import annotations

import numpy as np

from warm_start_hooks import _tokens
from warm_start_hooks import _vocab
from warm_start_hooks import _whitespace

# Examples shown in a note, at most.
_SHOWN = 5


def notes(
    old: _vocab.Vocab,
    new: _vocab.Vocab,
    var_name: str,
    old_size: int = -1,
    new_size: int = -1,
    old_index: np.ndarray | None = None,
) -> list[str]:
    """Look-alikes within each vocabulary and across the two, as notes.

    Args:
      old: The old `_vocab.Vocab`.
      new: The new `_vocab.Vocab`.
      var_name: The variable, for the messages.
      old_size: Old tokens in use (-1: all).
      new_size: New tokens in use (-1: all).
      old_index: The remapping's `old_index`, if computed (saves matching again).

    Returns:
      The notes; none when no token has surrounding whitespace (one quick pass).
    """
    o, n = old.used(old_size), new.used(new_size)
    if not len(old.padded(old_size)) and not len(new.padded(new_size)):
        return []
    so, sn = _whitespace.strip(o), _whitespace.strip(n)
    if np.array_equal(so.lengths, o.lengths) and np.array_equal(sn.lengths, n.lengths):
        return []
    out = []
    for role, vocab, size, stripped in (('new', new, new_size, sn), ('old', old, old_size, so)):
        groups = _groups(vocab, size, stripped)
        if groups:
            shown = [' and '.join(repr(vocab.token(i)) for i in g) for g in groups[:3]]
            out.append(
                f'the {role} vocabulary of {var_name!r} has {len(groups)} group(s) of tokens that '
                f'differ only by surrounding whitespace, e.g. {"; ".join(shown)}. They are '
                'distinct tokens, matched exactly and kept as they are.'
            )
    if old_index is None:
        old_index = _tokens.match(
            o, n, old.hasher, old.hashes(old_size), new.hashes(new_size)
        ).index
    missing = np.flatnonzero(old_index < 0)
    near = _tokens.match(so, sn.take(missing), old.hasher).index
    hit = np.flatnonzero(near >= 0)
    if len(hit):
        shown = [f'{new.token(missing[k])!r} vs {old.token(near[k])!r}' for k in hit[:_SHOWN]]
        more = f' and {len(hit) - _SHOWN} more' if len(hit) > _SHOWN else ''
        out.append(
            f'{len(hit)} token(s) of the new vocabulary of {var_name!r} are not in the old one, '
            f'where a token differs only by surrounding whitespace (new vs old): '
            f'{", ".join(shown)}{more}. They are different tokens, so their rows are new; strip '
            'the files if they are meant to be the same.'
        )
    return out


def _groups(vocab: _vocab.Vocab, size: int, stripped: _tokens.Tokens) -> list[list[int]]:
    """Groups of distinct tokens (first occurrences) whose stripped forms are equal."""
    if np.array_equal(stripped.lengths, vocab.used(size).lengths):
        return []
    first = vocab.classes(size)
    reps = np.flatnonzero(first == np.arange(len(first)))  # One index per distinct token.
    key = _tokens.classes(stripped.take(reps), vocab.hasher)
    counts = np.bincount(key, minlength=len(reps))
    multi = np.flatnonzero(counts[key] > 1)
    groups: dict[int, list[int]] = {}
    for k in multi[np.argsort(key[multi], kind='stable')].tolist():
        groups.setdefault(int(key[k]), []).append(int(reps[k]))
    return list(groups.values())
