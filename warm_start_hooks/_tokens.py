"""Tokens as spans of one byte buffer: hashed, compared, grouped and matched by numpy.

Do not import this module directly; use `import warm_start_hooks` instead.

A vocabulary of a million tokens is one buffer of bytes and two integer
arrays (where each token starts, how long it is), never a million Python
objects. Tokens are read 8 bytes at a time as little-endian words (the
buffer ends with zero padding, so a word may run past the last token), and
every operation is a handful of numpy passes over those words:

* `hash64` mixes the words of each token into a 64-bit hash;
* `equal` compares pairs of tokens exactly, word by word;
* `classes` and `match` sort hashes, then confirm every pair they pair up
  with `equal`. Two different tokens with the same hash (a collision) are
  never taken as equal: the few tokens whose hash is shared are compared
  one by one in Python instead.

The hash is a parameter (`Hasher`), so tests can force collisions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import numpy as np

# Zero bytes after the last token: a word read at any token byte stays in the buffer.
PAD = 8

_K0 = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S29 = np.uint64(29)
_S33 = np.uint64(33)
# _MASKS[k] keeps the low k bytes of a word.
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], np.uint64)


# A word is kept as one array over all tokens while at least 1/_DENSE of them reach it.
_DENSE = 4


@dataclasses.dataclass(frozen=True, eq=False)
class Tokens:
    """Tokens stored as spans of one buffer.

    Word `k` of a token is its bytes `8k .. 8k + 8` as a little-endian
    uint64, zero past the token's end. Words that many tokens reach are
    computed once over all tokens and kept (shared with prefixes of these
    tokens); hashing and comparing then gather aligned words.

    Attributes:
      data: The bytes, as uint8, followed by at least `PAD` zero bytes.
      starts: Where each token starts in `data` (int64).
      lengths: Each token's length in bytes (int64).
    """

    data: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    root: Tokens | None = dataclasses.field(default=None, repr=False)
    _words: dict = dataclasses.field(default_factory=dict, init=False, repr=False)

    def __len__(self) -> int:
        return len(self.starts)

    def get(self, i: int) -> bytes:
        """Token `i`'s bytes."""
        s = int(self.starts[i])
        return self.data[s : s + int(self.lengths[i])].tobytes()

    def text(self, i: int) -> str:
        """Token `i` as text (UTF-8; undecodable bytes are escaped)."""
        return self.get(i).decode('utf-8', 'backslashreplace')

    def prefix(self, n: int) -> Tokens:
        """The first `n` tokens (all when `n` < 0), sharing the buffer and kept words."""
        if n < 0 or n >= len(self):
            return self
        return Tokens(self.data, self.starts[:n], self.lengths[:n], self.root or self)

    def take(self, idx: np.ndarray) -> Tokens:
        """The tokens at `idx`, sharing the buffer."""
        return Tokens(self.data, self.starts[idx], self.lengths[idx])

    def forget(self) -> None:
        """Drops the words kept so far."""
        (self.root or self)._words.clear()

    def bare(self) -> Tokens:
        """The same tokens without the words kept so far."""
        return Tokens(self.data, self.starts, self.lengths)

    def word(self, k: int, idx: np.ndarray | None = None) -> np.ndarray:
        """Word `k` of the tokens at `idx` (all when None), as uint64."""
        if self.root is not None:
            whole = self.root._words.get(k)
            if whole is not None:
                return whole[: len(self)] if idx is None else whole[idx]
            return _raw_word(self, k, idx)
        whole = self._words.get(k)
        if whole is None and idx is None:
            whole = self._words[k] = _raw_word(self, k, None)
        if whole is None:
            return _raw_word(self, k, idx)
        return whole if idx is None else whole[idx]


Hasher = Callable[[Tokens], np.ndarray]


def from_bytes(data: bytes, starts: np.ndarray, lengths: np.ndarray) -> Tokens:
    """`Tokens` over a copy of `data` with its zero padding."""
    buf = np.zeros(len(data) + PAD, np.uint8)
    buf[: len(data)] = np.frombuffer(data, np.uint8)
    return Tokens(buf, np.asarray(starts, np.int64), np.asarray(lengths, np.int64))


def _raw_word(tokens: Tokens, k: int, idx: np.ndarray | None) -> np.ndarray:
    """Word `k` read from the buffer: an unaligned gather, then the bytes past the end zeroed."""
    starts = tokens.starts if idx is None else tokens.starts[idx]
    lengths = tokens.lengths if idx is None else tokens.lengths[idx]
    words = np.ndarray((len(tokens.data) - 7,), '<u8', buffer=tokens.data, strides=(1,))
    # A token shorter than 8k bytes reads anywhere in the buffer: its word is masked to 0.
    w = words[np.minimum(starts + 8 * k, len(words) - 1)]
    keep = np.subtract(lengths, 8 * k)
    np.minimum(keep, 8, out=keep)
    np.maximum(keep, 0, out=keep)
    w &= _MASKS[keep]
    return w


def _rounds(nwords: np.ndarray) -> Iterator[tuple[int, Any]]:
    """Yields `(k, which)`: the entries with more than `k` words.

    `which` is `slice(None)` (all entries), a bool mask (most of them) or an
    index array (few). Long tokens are few: when there are many rounds, the
    entries are sorted by word count once, so a round touches only its own.
    """
    n = len(nwords)
    if not n:
        return
    top = int(nwords.max())
    counts = np.cumsum(np.bincount(nwords, minlength=top + 1)[::-1])[::-1]  # counts[k]: >= k words
    order = None
    for k in range(top):
        reach = int(counts[k + 1])
        if reach == n:
            yield k, slice(None)
        elif reach * _DENSE >= n:
            yield k, nwords > k
        else:
            if order is None:
                order = np.argsort(nwords, kind='stable')
            yield k, order[n - reach :]


def _fmix(h: np.ndarray) -> np.ndarray:
    h ^= h >> _S33
    h *= _M1
    h ^= h >> _S33
    h *= _M2
    h ^= h >> _S33
    return h


def _mix(h: np.ndarray, w: np.ndarray) -> np.ndarray:
    h ^= w
    h *= _M1
    h ^= h >> _S29
    return h


def hash64(tokens: Tokens) -> np.ndarray:
    """A 64-bit hash of each token's bytes (uint64): a function of the token alone."""
    lengths = tokens.lengths
    h = lengths.astype(np.uint64)
    h *= _K0
    for k, which in _rounds((lengths + 7) // 8):
        if isinstance(which, slice):
            _mix(h, tokens.word(k))
        elif which.dtype == bool:
            np.copyto(h, _mix(h.copy(), tokens.word(k)), where=which)
        else:
            h[which] = _mix(h[which], tokens.word(k, which))
    return _fmix(h)


def equal(a: Tokens, ia: np.ndarray, b: Tokens, ib: np.ndarray) -> np.ndarray:
    """Whether token `a[ia[k]]` equals token `b[ib[k]]`, byte for byte, for each k."""
    la = a.lengths[ia]
    out = la == b.lengths[ib]
    if out.all():
        cand = np.arange(len(out))  # Usually all lengths agree: no need to pick them out.
    else:
        cand = np.flatnonzero(out)
        ia, ib, la = ia[cand], ib[cand], la[cand]
    if not len(cand):
        return out
    for k, which in _rounds((la + 7) // 8):
        if isinstance(which, slice):
            out[cand[a.word(k, ia) != b.word(k, ib)]] = False
            continue
        sel = np.flatnonzero(which) if which.dtype == bool else which
        diff = a.word(k, ia[sel]) != b.word(k, ib[sel])
        out[cand[sel[diff]]] = False
    return out


def _sorted_groups(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices sorted by hash (then index), and where each run of equal hashes starts.

    The index is packed into the low bits of the hash so that one `np.sort`
    (much faster than `argsort`) orders both; the hash keeps the high bits.
    """
    n = len(hashes)
    bits = np.uint64(max(1, (n - 1).bit_length()))
    packed = (hashes >> bits) << bits
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    index = (packed & ((np.uint64(1) << bits) - np.uint64(1))).view(np.int64)
    packed >>= bits
    start = np.empty(n, bool)
    start[:1] = True
    np.not_equal(packed[1:], packed[:-1], out=start[1:])
    return index, start


def classes(tokens: Tokens, hasher: Hasher = hash64, hashes: np.ndarray | None = None):
    """For each token, the first index holding an equal token (itself if none before).

    Args:
      tokens: The tokens.
      hasher: The hash function.
      hashes: `hasher(tokens)`, if already computed.

    Returns:
      int64 array: token `i` equals token `out[i]`, and `out[i] <= i`.
    """
    n = len(tokens)
    out = np.arange(n, dtype=np.int64)
    if n < 2:
        return out
    index, start = _sorted_groups(hasher(tokens) if hashes is None else hashes)
    if start.all():
        return out
    pos = np.arange(n)
    first = index[np.maximum.accumulate(np.where(start, pos, 0))]
    member = np.flatnonzero(~start)
    same = equal(tokens, index[member], tokens, first[member])
    out[index[member[same]]] = first[member[same]]
    if not same.all():
        # Different tokens with one hash: sort those groups out one by one.
        group = np.cumsum(start) - 1
        odd = np.isin(group, group[member[~same]])
        firsts: dict[bytes, int] = {}
        for i in np.sort(index[odd]).tolist():
            out[i] = firsts.setdefault(tokens.get(i), i)
    return out


@dataclasses.dataclass(frozen=True)
class Match:
    """Where each query token is among the keys.

    Attributes:
      index: For each query, the last index of an equal key, or -1 (int64).
      keys_distinct: Whether no two keys share a hash, which proves no two
        are equal (False says nothing).
      queries_distinct: The same for the queries.
    """

    index: np.ndarray
    keys_distinct: bool
    queries_distinct: bool


def match(
    keys: Tokens,
    queries: Tokens,
    hasher: Hasher = hash64,
    key_hashes: np.ndarray | None = None,
    query_hashes: np.ndarray | None = None,
) -> Match:
    """Finds each query token among the key tokens.

    Args:
      keys: The tokens looked in.
      queries: The tokens looked up.
      hasher: The hash function.
      key_hashes: `hasher(keys)`, if already computed.
      query_hashes: `hasher(queries)`, if already computed.

    Returns:
      The `Match`.
    """
    nk, nq = len(keys), len(queries)
    out = np.full(nq, -1, np.int64)
    if not nk or not nq:
        return Match(out, nk < 2, nq < 2)
    hk = hasher(keys) if key_hashes is None else key_hashes
    hq = hasher(queries) if query_hashes is None else query_hashes
    index, start = _sorted_groups(np.concatenate([hk, hq]))
    # Within a run of equal hashes, keys (indices < nk) come before queries.
    is_key = index < nk
    second = np.flatnonzero(~start)  # Each entry whose hash equals the one before it.
    key_after_key = is_key[second] & is_key[second - 1]
    query_after_query = ~(is_key[second] | is_key[second - 1])
    result = Match(out, not key_after_key.any(), not query_after_query.any())
    if result.keys_distinct and result.queries_distinct:
        # Every run is one key, or one query, or a key then a query: compare those pairs.
        ki, qi = index[second - 1], index[second] - nk
        same = equal(keys, ki, queries, qi)
        out[qi[same]] = ki[same]
        return result
    pos = np.arange(len(index))
    group_start = np.maximum.accumulate(np.where(start, pos, 0))
    last_key = np.maximum.accumulate(np.where(is_key, pos, -1))
    q = np.flatnonzero(~is_key)
    k, g, qi = last_key[q], group_start[q], index[q] - nk
    found = k >= g
    shared = found & (k > g)  # Two or more keys share this hash.
    single = np.flatnonzero(found & ~shared)
    ki = index[k[single]]
    same = equal(keys, ki, queries, qi[single])
    out[qi[single[same]]] = ki[same]
    if shared.any():
        # Duplicate keys or a collision: those few tokens are looked up one by one.
        in_groups = np.isin(group_start, np.unique(g[shared])) & is_key
        lookup = {keys.get(i): i for i in np.sort(index[in_groups]).tolist()}
        for j in qi[shared].tolist():
            out[j] = lookup.get(queries.get(j), -1)
    return result


# ---- whitespace -------------------------------------------------------------

# Bytes that are whitespace alone (what `str.isspace` says of ASCII).
_SPACE_1 = np.zeros(256, bool)
_SPACE_1[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
# UTF-8 encodings of the other characters `str.strip()` removes.
_SPACE_2 = {b'\xc2\x85', b'\xc2\xa0'}
_SPACE_3 = {
    c.encode()
    for c in ['\u1680', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000']
    + [chr(x) for x in range(0x2000, 0x200B)]
}


_CODES_2 = np.array([int.from_bytes(s, 'big') for s in _SPACE_2], np.int64)
_CODES_3 = np.array([int.from_bytes(s, 'big') for s in _SPACE_3], np.int64)


def _space_width(data: np.ndarray, at: np.ndarray, room: np.ndarray, forward: bool):
    """Byte width of the whitespace character at `at` (0: none).

    Reading forward, the character starts at `at`; backward, it ends just
    before `at`. `room` is how many bytes of the token are there to read.
    """
    b = [data[at + i if forward else at - 1 - i].astype(np.int64) for i in range(3)]
    if forward:
        code2 = (b[0] << 8) | b[1]
        code3 = (code2 << 8) | b[2]
    else:
        code2 = (b[1] << 8) | b[0]
        code3 = (b[2] << 16) | code2
    width = np.where((room >= 1) & _SPACE_1[b[0]], 1, 0)
    width = np.where((room >= 2) & np.isin(code2, _CODES_2), 2, width)
    return np.where((room >= 3) & np.isin(code3, _CODES_3), 3, width)


# Bytes that may begin (end) a whitespace character: the quick test of `padded`.
_MAY_LEAD = _SPACE_1.copy()
_MAY_LEAD[[0xC2, 0xE1, 0xE2, 0xE3]] = True
_MAY_TRAIL = _SPACE_1.copy()
_MAY_TRAIL[[s[-1] for s in _SPACE_2 | _SPACE_3]] = True


def padded(tokens: Tokens) -> np.ndarray:
    """Indices of the tokens that may have surrounding whitespace (a superset; two lookups)."""
    n = tokens.lengths > 0
    lead = _MAY_LEAD[tokens.data[tokens.starts]]
    trail = _MAY_TRAIL[tokens.data[np.maximum(tokens.starts + tokens.lengths - 1, 0)]]
    return np.flatnonzero(n & (lead | trail))


def strip(tokens: Tokens) -> Tokens:
    """The tokens without surrounding whitespace, as `str.strip()` removes it."""
    starts, lengths = tokens.starts.copy(), tokens.lengths.copy()
    active = padded(tokens)
    while len(active):
        s, n = starts[active], lengths[active]
        lead = _space_width(tokens.data, s, n, True)
        trail = _space_width(tokens.data, s + n, n - lead, False)
        starts[active] += lead
        lengths[active] -= lead + trail
        moved = (lead + trail) > 0
        active = active[moved & (lengths[active] > 0)]
    return Tokens(tokens.data, starts, lengths)
