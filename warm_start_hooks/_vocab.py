"""Vocabularies: reading, checking, and the remapping of rows between two.

Do not import this module directly; use `import warm_start_hooks` instead.

The index maths is pure numpy so that it can be checked against an oracle.
A token is a whole line, as TensorFlow's `GenerateVocabRemapping` reads it:
the line end (`\\n`, or `\\r\\n`) is not part of the token, other whitespace is.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Sequence

import numpy as np

from warm_start_hooks import _settings


@dataclasses.dataclass(frozen=True)
class Vocab:
    """A vocabulary as read, with what was noticed while reading it.

    Attributes:
      source: The path, or '<list>' for an in-memory vocabulary.
      tokens: Every token, in line order.
      crlf: Whether lines ended in '\\r\\n' (stripped, as TensorFlow does).
    """

    source: str
    tokens: tuple[str, ...]
    crlf: bool = False


def describe(vocab: _settings.Vocab) -> str:
    if isinstance(vocab, (str, os.PathLike)):
        return os.fspath(vocab)
    return f'<list of {len(vocab)} tokens>'


def read_vocab(vocab: _settings.Vocab) -> Vocab:
    """Reads a vocabulary from a `tf.io.gfile` path or a sequence of tokens.

    Raises:
      VocabError: The file is missing or is not UTF-8.
    """
    from warm_start_hooks import _errors

    if not isinstance(vocab, (str, os.PathLike)):
        tokens = tuple(str(t) for t in vocab)
        return Vocab('<list>', tokens)
    path = os.fspath(vocab)
    import tensorflow as tf

    try:
        with tf.io.gfile.GFile(path, 'rb') as f:
            data = f.read()
    except tf.errors.NotFoundError:
        raise _errors.VocabError(
            f'Vocabulary file not found. Expected a file with one token a line; check the '
            f'path. Received: path={path!r}'
        ) from None
    except tf.errors.OpError as e:  # A directory, no permission, ...
        raise _errors.VocabError(
            f'Vocabulary file cannot be read: {_errors.first_line(e)}. Expected a file with '
            f'one token a line; check the path. Received: path={path!r}'
        ) from None
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        raise _errors.VocabError(
            f'Vocabulary file is not UTF-8 ({e.reason} at byte {e.start}). Re-encode it as '
            f'UTF-8, e.g. `iconv -f latin1 -t utf-8`. Received: path={path!r}'
        ) from None
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    # A line ends in '\r' exactly where the text holds '\r\n', or at its very end.
    crlf = '\r\n' in text or text.endswith('\r')
    if not crlf:
        return Vocab(path, tuple(lines), False)
    tokens = tuple(line[:-1] if line.endswith('\r') else line for line in lines)
    return Vocab(path, tokens, crlf)


def problems(vocab: Vocab, size: int, role: str, var_name: str) -> list[str]:
    """What makes `vocab` unusable with `size` tokens (-1: all of them)."""
    where = f'{role} vocabulary of {var_name!r} ({vocab.source})'
    out = []
    n = len(vocab.tokens)
    if n == 0:
        out.append(f'{where} is empty. Expected one token a line.')
        return out
    if size > n:
        out.append(
            f'{where} has {n} tokens, fewer than the {size} its VocabInfo asks for. Fix the '
            f'size or the file. Received: size={size}'
        )
    used = vocab.tokens if size < 0 else vocab.tokens[:size]
    if len(set(used)) == len(used) and not _padded(used):
        # No duplicates, and no token with surrounding whitespace: nothing to report.
        return out
    seen: dict[str, int] = {}
    dups = []
    stripped: dict[str, list[str]] = {}
    for i, tok in enumerate(used):
        if tok in seen:
            dups.append(f'{tok!r} (lines {seen[tok] + 1} and {i + 1})')
        else:
            seen[tok] = i
        stripped.setdefault(tok.strip(), []).append(tok)
    if dups:
        shown = ', '.join(dups[:5]) + (f' and {len(dups) - 5} more' if len(dups) > 5 else '')
        out.append(f'{where} has duplicate tokens: {shown}. Each token must appear once.')
    variants = [v for v in stripped.values() if len(set(v)) > 1]
    if variants:
        shown = ', '.join(repr(sorted(set(v))) for v in variants[:5])
        out.append(
            f'{where} has tokens that differ only by surrounding whitespace: {shown}. '
            'Strip the lines of the file.'
        )
    return out


def _padded(tokens: Sequence[str]) -> bool:
    """Whether any token has surrounding whitespace (C-speed for a million tokens)."""
    return list(map(str.strip, tokens)) != list(tokens)


def whitespace_problems(old: Vocab, new: Vocab, var_name: str) -> list[str]:
    """Tokens of `new` that miss `old` only because of surrounding whitespace."""
    if not _padded(old.tokens) and not _padded(new.tokens):
        return []
    old_set = set(old.tokens)
    old_stripped = {t.strip(): t for t in old.tokens}
    bad = [
        (t, old_stripped[t.strip()])
        for t in new.tokens
        if t not in old_set and t.strip() in old_stripped
    ]
    if not bad:
        return []
    shown = ', '.join(f'{n!r} vs {o!r}' for n, o in bad[:5])
    return [
        f'vocabularies of {var_name!r} hold {len(bad)} token(s) that match only after '
        f'stripping whitespace (new vs old): {shown}. Strip both files so they match.'
    ]


@dataclasses.dataclass(frozen=True)
class Remapping:
    """Where each new row (or column) comes from.

    Attributes:
      old_index: For each of the `new_vocab_size` new ids, the old row it is
        copied from, or -1 if the token is new.
      num_oov_buckets: OOV rows after the vocabulary; always initialised.
      kept: Tokens at the same index as before.
      moved: Tokens found at another index.
      new: Tokens with no old row.
      dropped: Old tokens (within the old size) that the new vocabulary lacks.
    """

    old_index: np.ndarray
    num_oov_buckets: int
    kept: int
    moved: int
    new: int
    dropped: int

    @property
    def total(self) -> int:
        return len(self.old_index) + self.num_oov_buckets

    def full_index(self) -> np.ndarray:
        """`old_index` followed by -1 for each OOV bucket."""
        if not self.num_oov_buckets:
            return self.old_index
        return np.concatenate([self.old_index, np.full(self.num_oov_buckets, -1, np.int64)])


def remapping(
    new_tokens: Sequence[str],
    new_size: int,
    old_tokens: Sequence[str],
    old_size: int = -1,
    num_oov_buckets: int = 0,
) -> Remapping:
    """Computes the row remapping `GenerateVocabRemapping` computes.

    Args:
      new_tokens: The new vocabulary; its first `new_size` tokens are used.
      new_size: Number of new ids.
      old_tokens: The old vocabulary.
      old_size: Only the first `old_size` old tokens count; -1 for all.
      num_oov_buckets: OOV rows after the new vocabulary.

    Returns:
      The `Remapping`.
    """
    old_used = old_tokens if old_size < 0 else old_tokens[:old_size]
    # dict(zip()) and map() run the per-token work in C; a later duplicate wins, as before.
    lookup = dict(zip(old_used, range(len(old_used))))
    index = np.fromiter(
        map(lookup.get, new_tokens[:new_size], itertools.repeat(-1)),
        dtype=np.int64,
        count=new_size,
    )
    found = index >= 0
    kept = int(np.count_nonzero(index == np.arange(new_size)))
    n_found = int(np.count_nonzero(found))
    return Remapping(
        old_index=index,
        num_oov_buckets=num_oov_buckets,
        kept=kept,
        moved=n_found - kept,
        new=new_size - n_found,
        dropped=len(lookup) - int(np.unique(index[found]).size),
    )
