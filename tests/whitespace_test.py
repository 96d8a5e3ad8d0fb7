"""Tests of `_whitespace.py` against `str.strip()`."""

from absl.testing import absltest
from absl.testing import parameterized
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from tokenutil import SHORT_AND_LONG
from tokenutil import strings_of
from tokenutil import tokens_of

from warm_start_hooks import _whitespace

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None)


class WhitespaceTest(parameterized.TestCase):
    @PROPERTY
    @given(strings=st.lists(SHORT_AND_LONG, max_size=30))
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
