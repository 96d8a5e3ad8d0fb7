"""Vocabularies: reading, checking, and the remapping of rows between two.

Do not import this module directly; use `import warm_start_hooks` instead.

A vocabulary file is read as TensorFlow's vocabulary ops read it: a token
is a whole line of bytes; the line end (`\\n`, or `\\r\\n`) is not part of the
token, other whitespace is. An empty line is refused, as those ops refuse it.
Tokens stay in one byte buffer (`_tokens.Tokens`), so a vocabulary of
millions of tokens is read, checked and matched by numpy at native speed;
tokens become Python strings only to be shown in a message.

`_vocab_check.check_pair` is the one place a warm start reads vocabularies.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any

import numpy as np

from warm_start_hooks import _settings
from warm_start_hooks import _tokens
from warm_start_hooks import _vocab_read
from warm_start_hooks import _whitespace

# Tokens shown in a message, at most.
_SHOWN = 5


@dataclasses.dataclass(frozen=True, eq=False)
class Vocab:
    """A vocabulary as read, with what was noticed while reading it.

    Attributes:
      source: The path, or '<list>' for an in-memory vocabulary.
      table: The tokens, in line order.
      crlf: Whether lines ended in '\\r\\n' (stripped, as TensorFlow does).
      from_file: Whether it was read from a file (where an empty line is refused).
      hasher: The hash `_tokens` matches tokens by.
    """

    source: str
    table: _tokens.Tokens
    crlf: bool = False
    from_file: bool = False
    hasher: _tokens.Hasher = _tokens.hash64
    _cache: dict = dataclasses.field(default_factory=dict, init=False, repr=False)

    def __len__(self) -> int:
        return len(self.table)

    def token(self, i: int) -> str:
        """Token `i` as text."""
        return self.table.text(i)

    def __getitem__(self, i: int | slice) -> Any:
        """Token `i` as text, or a list of them for a slice (a read-only sequence)."""
        if isinstance(i, slice):
            return [self.token(j) for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(f'token index {i} out of range for {len(self)} tokens')
        return self.token(i % len(self))

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self.find(token) >= 0

    def __iter__(self) -> Iterator[str]:
        return (self.token(i) for i in range(len(self)))

    @property
    def tokens(self) -> tuple[str, ...]:
        """Every token as a `str`: one Python object each, so for small vocabularies."""
        return tuple(self.token(i) for i in range(len(self)))

    def used(self, size: int) -> _tokens.Tokens:
        """The first `size` tokens (all when `size` < 0)."""
        return self.table.prefix(size)

    def hashes(self, size: int = -1) -> np.ndarray:
        """Hashes of the first `size` tokens (computed once for the whole vocabulary)."""
        if 'hashes' not in self._cache:
            self._cache['hashes'] = np.asarray(self.hasher(self.table), np.uint64)
        h = self._cache['hashes']
        return h if size < 0 else h[:size]

    def padded(self, size: int = -1) -> np.ndarray:
        """Which of the first `size` tokens may have surrounding whitespace (a superset)."""
        if 'padded' not in self._cache:
            self._cache['padded'] = _whitespace.padded(self.table)
        found = self._cache['padded']
        return found if size < 0 else found[: np.searchsorted(found, len(self.used(size)))]

    def classes(self, size: int = -1) -> np.ndarray:
        """For each of the first `size` tokens, the index of its first occurrence."""
        n = len(self.used(size))
        if self._cache.get(('distinct', n)):
            return np.arange(n, dtype=np.int64)
        if ('classes', n) not in self._cache:
            first = _tokens.classes(self.used(size), self.hasher, self.hashes(size))
            self._cache[('classes', n)] = first
            self._cache[('distinct', n)] = bool(np.all(first == np.arange(n)))
        return self._cache[('classes', n)]

    def distinct(self, size: int = -1) -> bool:
        """Whether the first `size` tokens are all different."""
        n = len(self.used(size))
        if ('distinct', n) not in self._cache:
            self.classes(size)
        return self._cache[('distinct', n)]

    def set_distinct(self, size: int = -1) -> None:
        """Records that the first `size` tokens are known to be all different."""
        self._cache[('distinct', len(self.used(size)))] = True

    def release(self) -> None:
        """Drops hashes and words kept for matching; what was found stays known."""
        self._cache.pop('hashes', None)
        self.table.forget()

    def find(self, token: str, size: int = -1) -> int:
        """The first index of `token` among the first `size` tokens, or -1."""
        want = token.encode('utf-8', 'surrogatepass')
        used = self.used(size)
        cand = np.flatnonzero(used.lengths == len(want))
        probe = _tokens.from_bytes(want, np.zeros(1, np.int64), np.full(1, len(want)))
        hits = cand[_tokens.equal(used, cand, probe, np.zeros(len(cand), np.int64))]
        return int(hits[0]) if len(hits) else -1

    def without_cache(self) -> Vocab:
        """The same vocabulary without what checks kept (to keep a plan small)."""
        return dataclasses.replace(self, table=self.table.bare())


def describe(vocab: _settings.Vocab) -> str:
    if isinstance(vocab, (str, bytes, os.PathLike)):
        return os.fsdecode(vocab)
    return f'<list of {len(vocab)} tokens>'


def read_vocab(vocab: _settings.Vocab, hasher: _tokens.Hasher = _tokens.hash64) -> Vocab:
    """Reads a vocabulary from a `tf.io.gfile` path or a sequence of tokens.

    A sequence may hold `str`, UTF-8 `bytes` (decoded as TensorFlow decodes
    its string tensors) or ints (an `IntegerLookup` vocabulary; written in
    decimal, as a vocabulary file holds them), or be a numpy array of those.

    Args:
      vocab: A path (`str`, `bytes` or `os.PathLike`) or a sequence of tokens.
      hasher: The hash tokens are matched by (tests force collisions with it).

    Raises:
      VocabError: The file is missing, unreadable or not UTF-8, or the
        sequence holds something other than tokens of one kind.
    """
    if isinstance(vocab, (str, bytes, os.PathLike)):
        read = _vocab_read.read_file(os.fsdecode(vocab))
    else:
        read = _vocab_read.read_sequence(vocab)
    return Vocab(read.source, read.table, read.crlf, read.from_file, hasher)


def _shown(items: Sequence[str], total: int) -> str:
    more = f' and {total - len(items)} more' if total > len(items) else ''
    return ', '.join(items) + more


def problems(vocab: Vocab, size: int, role: str, var_name: str) -> list[str]:
    """What makes `vocab` unusable with `size` tokens (-1: all of them).

    Empty lines of a file are refused as TensorFlow's `GenerateVocabRemapping`
    refuses them: anywhere in the new vocabulary's file (it reads all of it),
    among the first `size` lines of the old one.
    """
    where = f'{role} vocabulary of {var_name!r} ({vocab.source})'
    out = []
    n = len(vocab)
    if n == 0:
        return [f'{where} is empty. Expected one token a line.']
    if size > n:
        out.append(
            f'{where} has {n} tokens, fewer than the {size} its VocabInfo asks for. Fix the '
            f'size or the file. Received: size={size}'
        )
    if vocab.from_file:
        lengths = vocab.table.lengths if role == 'new' else vocab.used(size).lengths
        empty = np.flatnonzero(lengths == 0)
        if len(empty):
            lines = [str(i + 1) for i in empty[:_SHOWN]]
            out.append(
                f'{where} has {len(empty)} empty line(s): line {_shown(lines, len(empty))}. '
                "TensorFlow's vocabulary ops refuse an empty line, and so does this warm start "
                'with either remap backend. Remove it (a blank line at the end of the file '
                f'counts too). Received: line={int(empty[0]) + 1}'
            )
    if vocab.distinct(size):
        return out
    first = vocab.classes(size)
    dups = np.flatnonzero(first != np.arange(len(first)))
    if len(dups):
        shown = [
            f'{vocab.token(i)!r} (lines {int(first[i]) + 1} and {i + 1})'
            for i in dups[:_SHOWN].tolist()
        ]
        out.append(
            f'{where} has duplicate tokens: {_shown(shown, len(dups))}. Each token must appear '
            'once.'
        )
    return out


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
      old_used: Old tokens in use (the first `old_vocab_size`, or all).
    """

    old_index: np.ndarray
    num_oov_buckets: int
    kept: int
    moved: int
    new: int
    dropped: int
    old_used: int = 0

    @property
    def total(self) -> int:
        return len(self.old_index) + self.num_oov_buckets

    def full_index(self) -> np.ndarray:
        """`old_index` followed by -1 for each OOV bucket."""
        if not self.num_oov_buckets:
            return self.old_index
        return np.concatenate([self.old_index, np.full(self.num_oov_buckets, -1, np.int64)])


def _as_vocab(vocab: Vocab | Sequence[str]) -> Vocab:
    return vocab if isinstance(vocab, Vocab) else read_vocab(vocab)


def remapping(
    new_tokens: Vocab | Sequence[str],
    new_size: int,
    old_tokens: Vocab | Sequence[str],
    old_size: int = -1,
    num_oov_buckets: int = 0,
) -> Remapping:
    """Computes the row remapping `GenerateVocabRemapping` computes.

    Tokens are matched by hash and then compared byte for byte, so a hash
    collision never maps a token to another's row. Where the old vocabulary
    repeats a token, its last occurrence counts.

    Args:
      new_tokens: The new vocabulary (a `Vocab` or a sequence of tokens); its
        first `new_size` tokens are used.
      new_size: Number of new ids.
      old_tokens: The old vocabulary.
      old_size: Only the first `old_size` old tokens count; -1 for all.
      num_oov_buckets: OOV rows after the new vocabulary.

    Returns:
      The `Remapping`.

    Raises:
      ValueError: The new vocabulary has fewer than `new_size` tokens.
    """
    new, old = _as_vocab(new_tokens), _as_vocab(old_tokens)
    if new_size > len(new):
        raise ValueError(f'new_size {new_size} exceeds the {len(new)} tokens of {new.source}.')
    matched = _tokens.match(
        old.used(old_size),
        new.used(new_size),
        old.hasher,
        old.hashes(old_size),
        new.hashes(new_size),
    )
    # Tokens whose hashes all differ are all different: no duplicate to look for.
    if matched.keys_distinct:
        old.set_distinct(old_size)
    if matched.queries_distinct:
        new.set_distinct(new_size)
    index = matched.index
    found = index >= 0
    kept = int(np.count_nonzero(index == np.arange(new_size)))
    n_found = int(np.count_nonzero(found))
    hit = np.zeros(len(old.used(old_size)), bool)
    if old.distinct(old_size):
        hit[index[found]] = True
        distinct = len(hit)
    else:
        first = old.classes(old_size)
        hit[first[index[found]]] = True
        distinct = int(np.count_nonzero(first == np.arange(len(first))))
    return Remapping(
        old_index=index,
        num_oov_buckets=num_oov_buckets,
        kept=kept,
        moved=n_found - kept,
        new=new_size - n_found,
        dropped=distinct - int(np.count_nonzero(hit)),
        old_used=len(hit),
    )


def overlap_problems(
    remap: Remapping, new: Vocab, old: Vocab, old_size: int, var_name: str
) -> list[str]:
    """A remap in which no new token is found in the old vocabulary, as a problem.

    Every row would be initialised and none copied: almost always the wrong
    file (another model's vocabulary, or tokens of another form).
    """
    if len(remap.old_index) == 0 or remap.kept + remap.moved:
        return []
    n_old = len(old.used(old_size))
    sample_new = [repr(new.token(i)) for i in range(min(3, len(remap.old_index)))]
    sample_old = [repr(old.token(i)) for i in range(min(3, n_old))]
    return [
        f'variable {var_name!r}: none of the {len(remap.old_index)} tokens of the new '
        f'vocabulary ({new.source}: {_shown(sample_new, len(remap.old_index))}) is in the old '
        f'one ({old.source}: {_shown(sample_old, n_old)}), so every row would be initialised '
        'and none copied. Check that old_vocab is the vocabulary the checkpoint was trained '
        'with and that both hold tokens of the same form, or pass '
        f'VocabInfo(..., allow_no_overlap=True) if this is intended. Received: '
        f'new_vocab={new.source!r}, old_vocab={old.source!r}'
    ]
