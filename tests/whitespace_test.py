"""Tests of `_whitespace.py` against `str.strip()`."""

import numpy as np
from absl.testing import absltest
from absl.testing import parameterized
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from warm_start_hooks import _tokens
from warm_start_hooks import _whitespace

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None)

# Whitespace `str.strip` removes, multi-byte UTF-8, and look-alikes of whitespace that are not.
_ALPHABET = st.sampled_from(
    list('ab z\t')
    + ['\u3000', '\xa0', '\u2003', '\u200b', '\u00e9', '\u6771', '\U0001f600', '\x85']
)
_TOKEN = st.one_of(st.text(_ALPHABET, max_size=4), st.text(_ALPHABET, min_size=7, max_size=40))


def tokens_of(strings):
    """`Tokens` of `strings`, one a line, in one buffer."""
    encoded = [s.encode('utf-8') for s in strings]
    lengths = np.array([len(e) for e in encoded], np.int64)
    starts = np.zeros(len(encoded), np.int64)
    if len(encoded) > 1:
        starts[1:] = np.cumsum(lengths[:-1] + 1)
    return _tokens.from_bytes(b'\n'.join(encoded), starts, lengths)


def strings_of(tokens):
    return [tokens.get(i).decode('utf-8') for i in range(len(tokens))]


class WhitespaceTest(parameterized.TestCase):
    @PROPERTY
    @given(strings=st.lists(_TOKEN, max_size=30))
    def test_strip_matches_str_strip(self, strings):
        t = tokens_of(strings)
        self.assertEqual(strings_of(_whitespace.strip(t)), [s.strip() for s in strings])
        may = set(_whitespace.padded(t).tolist())
        for i, s in enumerate(strings):
            if s != s.strip():
                self.assertIn(i, may, s)

    def test_strip_keeps_what_is_not_whitespace(self):
        strings = ['\u200bzero width', '\u2581the', 'a\u3000b', '\u3000', ' \t\u2003x\xa0 ']
        got = strings_of(_whitespace.strip(tokens_of(strings)))
        self.assertEqual(got, ['\u200bzero width', '\u2581the', 'a\u3000b', '', 'x'])


if __name__ == '__main__':
    absltest.main()
