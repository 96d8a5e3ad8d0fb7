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

import concurrent.futures
import dataclasses
from collections.abc import Callable
from collections.abc import Iterator

import numpy as np

# Zero bytes after the last token: a word read at any token byte stays in the buffer.
PAD = 8

_K0 = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S29 = np.uint64(29)
_S33 = np.uint64(33)


# Words of a token kept as whole arrays: tokens of up to 16 bytes are compared with
# their length and these alone.
HEAD_WORDS = 2


@dataclasses.dataclass(frozen=True, eq=False)
class Tokens:
    """Tokens stored as spans of one buffer.

    Word `k` of a token is its bytes `8k .. 8k + 8` as a little-endian
    uint64, zero past the token's end. The first `HEAD_WORDS` words of all
    tokens are computed once and kept as whole arrays (shared with prefixes of
    these tokens): with the lengths, they are all that hashing and comparing
    read of most tokens.

    Attributes:
      data: The bytes, as uint8, followed by at least `PAD` zero bytes.
      starts: Where each token starts in `data` (int64).
      lengths: Each token's length in bytes (int64).
      root: The tokens these are the first of (`prefix`), which keep the words.
    """

    data: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    root: Tokens | None = dataclasses.field(default=None, repr=False)
    _kept: dict = dataclasses.field(default_factory=dict, init=False, repr=False)

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
        (self.root or self)._kept.clear()

    def bare(self) -> Tokens:
        """The same tokens without the words kept so far."""
        return Tokens(self.data, self.starts, self.lengths)

    def word(self, k: int, idx: np.ndarray | None = None) -> np.ndarray:
        """Word `k` (uint64) of the tokens at `idx` (all when None)."""
        if k >= HEAD_WORDS:
            return _raw_word(self, k, idx)
        owner = self.root or self
        whole = owner._kept.get(k)
        if whole is None:
            whole = owner._kept[k] = _raw_word(owner, k, None)
        return whole[: len(self)] if idx is None else np.take(whole, idx)


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
    if k == 0:
        w = words[starts]  # A token starts at most at the end of the data: in the buffer.
    else:
        # A token shorter than 8k bytes reads anywhere in the buffer: its word is masked to 0.
        at = starts + 8 * k
        np.minimum(at, len(words) - 1, out=at)
        w = words[at]
    keep = np.subtract(lengths, 8 * k)
    if keep.min(initial=8) >= 8:
        return w  # Every token fills the whole word.
    # The mask of the bytes kept, made in place: (1 << 8 * kept bytes) - 1 (a shift by 64
    # gives 0 in numpy, so 8 bytes give all ones).
    np.clip(keep, 0, 8, out=keep)
    keep *= 8
    mask = keep.view(np.uint64)
    np.left_shift(np.uint64(1), mask, out=mask)
    mask -= np.uint64(1)
    w &= mask
    return w


def _tails(lengths: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Yields `(k, idx)`: word `k` beyond the head, and the entries whose tokens reach it.

    Tokens longer than the head are few; they are sorted by length once when
    some are very long, so each round touches only its own entries.
    """
    long = np.flatnonzero(lengths > 8 * HEAD_WORDS)
    if not len(long):
        return
    nwords = (lengths[long] + 7) // 8
    order = long[np.argsort(nwords, kind='stable')]
    reach = np.searchsorted(np.sort(nwords), np.arange(HEAD_WORDS, int(nwords.max())), 'right')
    for k, lo in zip(range(HEAD_WORDS, int(nwords.max())), reach.tolist()):
        yield k, order[lo:]


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
    """A 64-bit hash of each token's bytes (uint64): a function of the token alone.

    It mixes the length and the first `HEAD_WORDS` words (zero-padded), then
    each further word of a longer token.
    """
    h = tokens.lengths.astype(np.uint64)
    h *= _K0
    for k in range(HEAD_WORDS):
        _mix(h, tokens.word(k))
    for k, idx in _tails(tokens.lengths):
        h[idx] = _mix(h[idx], _raw_word(tokens, k, idx))
    return _fmix(h)


def equal(a: Tokens, ia: np.ndarray, b: Tokens, ib: np.ndarray) -> np.ndarray:
    """Whether token `a[ia[k]]` equals token `b[ib[k]]`, byte for byte, for each k."""
    out = np.take(a.lengths, ia) == np.take(b.lengths, ib)
    longest = max(int(a.lengths.max(initial=0)), int(b.lengths.max(initial=0)))
    for k in range(min(HEAD_WORDS, -(-longest // 8))):
        out &= a.word(k, ia) == b.word(k, ib)
    same = np.flatnonzero(out)
    for k, idx in _tails(a.lengths[ia[same]]):
        sel = same[idx]
        out[sel[_raw_word(a, k, ia[sel]) != _raw_word(b, k, ib[sel])]] = False
    return out


# Pairs compared on one thread at most: more are split between two.
_THREAD_PAIRS = 1 << 16


def _equal_threaded(a: Tokens, ia: np.ndarray, b: Tokens, ib: np.ndarray) -> np.ndarray:
    """`equal`, on two threads when there are many pairs (numpy's gathers release the GIL)."""
    n = len(ia)
    if n < 2 * _THREAD_PAIRS:
        return equal(a, ia, b, ib)
    # Words kept for all tokens are made first, once, not by both threads at the same time.
    for k in range(HEAD_WORDS):
        a.word(k, ia[:1])
        b.word(k, ib[:1])
    half = n // 2
    out = np.empty(n, bool)
    with concurrent.futures.ThreadPoolExecutor(1, 'warm_start_equal') as pool:
        other = pool.submit(equal, a, ia[half:], b, ib[half:])
        out[:half] = equal(a, ia[:half], b, ib[:half])
        out[half:] = other.result()
    return out


# Entries sorted by one `np.sort` call: more (up to `_SPLIT_SORT_MAX`) are first
# split by their top bits.
_SPLIT_SORT = 1 << 17
# Beyond this the split's two new arrays (8 bytes an entry each) cost about what the
# parts save: 20M entries sort in 1.5-1.6 s split, 1.6-1.8 s in place, and memory
# this large is slow to map on a fresh process.
_SPLIT_SORT_MAX = 1 << 23
# Entries per part, about, when a sort is split: a part stays in the CPU's cache.
_PART_ENTRIES = 1 << 13


def sort_uint64(x: np.ndarray) -> np.ndarray:
    """`x` (uint64) sorted, in place when it is small.

    A large array (up to `_SPLIT_SORT_MAX` entries) is split by its top 8-16
    bits, parts of a few thousand entries on average (numpy's stable sort of
    8- and 16-bit keys is a radix sort), then each part is sorted on its own,
    on two threads (numpy's sort releases the GIL). Parts that stay in the
    CPU's cache make this about twice as fast as one `np.sort` of two million
    hashes, which are spread evenly over the top bits.
    """
    n = len(x)
    if n < _SPLIT_SORT or n > _SPLIT_SORT_MAX:
        x.sort()
        return x
    bits = min(16, max(8, (n // _PART_ENTRIES).bit_length()))
    top = np.right_shift(x, np.uint64(64 - bits)).astype(np.uint8 if bits == 8 else np.uint16)
    x = np.take(x, np.argsort(top, kind='stable'))
    ends = np.cumsum(np.bincount(top, minlength=1 << bits)).tolist()
    del top
    starts = [0, *ends[:-1]]

    def sort_parts(first: int, last: int) -> None:
        for lo, hi in zip(starts[first:last], ends[first:last]):
            if hi - lo > 1:
                x[lo:hi].sort()

    half = int(np.searchsorted(ends, n // 2)) + 1  # Parts [0, half) hold about half.
    with concurrent.futures.ThreadPoolExecutor(1, 'warm_start_sort') as pool:
        other = pool.submit(sort_parts, half, len(ends))
        sort_parts(0, half)
        other.result()
    return x


def _sorted_groups(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices sorted by hash (then index), and where each run of equal hashes starts.

    The index is packed into the low bits of the hash so that one `np.sort`
    (much faster than `argsort`) orders both; the hash keeps the high bits,
    so a run may hold entries whose full hashes differ.
    """
    n = len(hashes)
    bits = np.uint64(max(1, (n - 1).bit_length()))
    packed = np.right_shift(hashes, bits)
    packed <<= bits
    packed |= np.arange(n, dtype=np.uint64)
    packed = sort_uint64(packed)
    index = np.bitwise_and(packed, (np.uint64(1) << bits) - np.uint64(1)).view(np.int64)
    packed >>= bits
    start = np.empty(n, bool)
    start[:1] = True
    np.not_equal(packed[1:], packed[:-1], out=start[1:])
    return index, start


_EMPTY = np.zeros(0, np.int64)


def _pairs(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which entries share a hash: pairs, and the few entries to compare one by one.

    Returns:
      `(a, b, odd)`: entries `a[k] < b[k]` share the high bits of their hash
      and no other entry has them; `odd` lists the entries of the rare runs of
      three or more entries sharing those bits, where equal hashes need not be
      neighbours. Every other entry's hash is unique, so it equals no other.
    """
    index, start = _sorted_groups(hashes)
    second = np.flatnonzero(~start)  # Each entry sorted next to one with the same high bits.
    odd = _EMPTY
    if len(second) > 1:
        third = second[1:][np.diff(second) == 1]
        if len(third):
            # Runs of three or more: found from their third entries, a few steps each.
            in_long = np.zeros(len(index), bool)
            for q in third.tolist():
                lo, hi = q - 2, q + 1
                while not start[lo]:
                    lo -= 1
                while hi < len(start) and not start[hi]:
                    hi += 1
                in_long[lo:hi] = True
            odd = np.sort(index[in_long])
            second = second[~in_long[second]]
    # The pairs' full hashes may differ (only the high bits were sorted): `equal` tells.
    return index[second - 1], index[second], odd


def classes(
    tokens: Tokens, hasher: Hasher = hash64, hashes: np.ndarray | None = None
) -> np.ndarray:
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
    a, b, odd = _pairs(np.asarray(hasher(tokens) if hashes is None else hashes, np.uint64))
    same = equal(tokens, a, tokens, b)
    out[b[same]] = a[same]
    firsts: dict[bytes, int] = {}
    for i in odd.tolist():  # In index order: the first occurrence is met first.
        out[i] = firsts.setdefault(tokens.get(i), i)
    return out


@dataclasses.dataclass(frozen=True)
class Match:
    """Where each query token is among the keys.

    Attributes:
      index: For each query, the last index of an equal key, or -1 (int64).
      keys_distinct: Whether no two keys are equal.
      queries_distinct: Whether no two queries are equal.
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
    hk = hasher(keys) if key_hashes is None else key_hashes
    hq = hasher(queries) if query_hashes is None else query_hashes
    a, b, odd = _pairs(np.concatenate([hk, hq]).astype(np.uint64, copy=False))
    # Entries below nk are keys. A pair is a key and a query, or two of a kind.
    kq = np.flatnonzero((a < nk) & (b >= nk))
    out[b[kq] - nk] = a[kq]
    del kq
    # Candidates confirmed in query order: the queries' words are then read in sequence.
    cand = np.flatnonzero(out >= 0)
    out[cand[~_equal_threaded(keys, out[cand], queries, cand)]] = -1
    del cand
    kk, qq = b < nk, a >= nk
    keys_distinct = not equal(keys, a[kk], keys, b[kk]).any()
    queries_distinct = not equal(queries, a[qq] - nk, queries, b[qq] - nk).any()
    if len(odd):
        # A few tokens whose hashes crowd together: looked up one by one.
        odd_keys = [keys.get(i) for i in odd[odd < nk].tolist()]
        odd_queries = (odd[odd >= nk] - nk).tolist()
        lookup = dict(zip(odd_keys, odd[odd < nk].tolist()))  # A later duplicate wins.
        for j in odd_queries:
            out[j] = lookup.get(queries.get(j), -1)
        keys_distinct &= len(lookup) == len(odd_keys)
        queries_distinct &= len({queries.get(j) for j in odd_queries}) == len(odd_queries)
    return Match(out, keys_distinct, queries_distinct)
