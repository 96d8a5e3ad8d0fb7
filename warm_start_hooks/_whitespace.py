"""Surrounding whitespace of tokens, found and stripped by numpy as `str.strip()` would.

Do not import this module directly; use `import warm_start_hooks` instead.

Tokens are spans of one byte buffer (`_tokens.Tokens`), in UTF-8: a
whitespace character is one, two or three bytes, recognised at the ends of
every token at once.
"""

from __future__ import annotations

import numpy as np

from warm_start_hooks import _tokens

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


def _space_width(data: np.ndarray, at: np.ndarray, room: np.ndarray, forward: bool) -> np.ndarray:
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


def padded(tokens: _tokens.Tokens) -> np.ndarray:
    """Indices of the tokens that may have surrounding whitespace (a superset; two lookups)."""
    n = tokens.lengths > 0
    lead = _MAY_LEAD[tokens.data[tokens.starts]]
    trail = _MAY_TRAIL[tokens.data[np.maximum(tokens.starts + tokens.lengths - 1, 0)]]
    return np.flatnonzero(n & (lead | trail))


def strip(tokens: _tokens.Tokens) -> _tokens.Tokens:
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
    return _tokens.Tokens(tokens.data, starts, lengths)
