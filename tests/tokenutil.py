"""Tokens for the tests of `_tokens.py` and `_whitespace.py`, built from strings."""

import numpy as np
from hypothesis import strategies as st

from warm_start_hooks import _tokens

# Characters that make tokens interesting: ASCII, whitespace `str.strip` removes,
# multi-byte UTF-8, and look-alikes of whitespace that are not whitespace.
ALPHABET = st.sampled_from(
    list('ab z\t')
    + ['\u3000', '\xa0', '\u2003', '\u200b', '\u00e9', '\u6771', '\U0001f600', '\x85']
)
# Tokens of one word or less, and of several 8-byte words.
SHORT_AND_LONG = st.one_of(
    st.text(ALPHABET, max_size=4), st.text(ALPHABET, min_size=7, max_size=40)
)


def tokens_of(strings, sep=b'\n'):
    """`Tokens` of `strings` joined by `sep` in one buffer (no padding beyond `PAD`)."""
    encoded = [s.encode('utf-8') for s in strings]
    lengths = np.array([len(e) for e in encoded], np.int64)
    starts = np.zeros(len(encoded), np.int64)
    if len(encoded) > 1:
        starts[1:] = np.cumsum(lengths[:-1] + len(sep))
    return _tokens.from_bytes(sep.join(encoded), starts, lengths)


def strings_of(tokens):
    """Every token of `tokens` as a `str`."""
    return [tokens.get(i).decode('utf-8') for i in range(len(tokens))]
