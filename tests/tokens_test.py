"""Tests of `_tokens.py` against plain-Python oracles: bytes, dicts, `str.strip`.

Tokens are drawn with hypothesis (unicode, whitespace, empty tokens, long
tokens that need many 8-byte words, tokens at the very end of the buffer),
and matched with the real hash and with weak hashes that force collisions: a
collision must never make two different tokens equal.
"""

from unittest import mock

import numpy as np
from absl.testing import absltest
from absl.testing import parameterized
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from tokenutil import SHORT_AND_LONG
from tokenutil import strings_of
from tokenutil import tokens_of

from warm_start_hooks import _tokens

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None)

_TOKEN = st.one_of(
    SHORT_AND_LONG,
    # Long tokens of two letters: many share their first words and differ in a later one.
    st.sampled_from(['aaaaaaaa', 'aaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaaaaaaa']).flatmap(
        lambda head: st.text('ab', min_size=1, max_size=3).map(lambda tail: head + tail)
    ),
)


def constant_hash(tokens):
    return np.zeros(len(tokens), np.uint64)


def three_buckets(tokens):
    """Only three distinct hashes, in the high bits that the sort keeps."""
    return (_tokens.hash64(tokens) % np.uint64(3)) << np.uint64(62)


def low_bits_only(tokens):
    """Distinct values in the low bits, which packing the index drops: all collide."""
    return _tokens.hash64(tokens) & np.uint64(0xFF)


def first_word_only(tokens):
    """A hash of the length and first 8 bytes: tokens that differ later collide."""
    head = tokens.take(np.arange(len(tokens)))
    head = _tokens.Tokens(head.data, head.starts, np.minimum(head.lengths, 8))
    return _tokens.hash64(head) ^ (tokens.lengths.astype(np.uint64) << np.uint64(40))


HASHERS = (
    ('hash64', _tokens.hash64),
    ('first_word_only', first_word_only),
    ('constant', constant_hash),
    ('three_buckets', three_buckets),
    ('low_bits_only', low_bits_only),
)


class TokensTest(parameterized.TestCase):
    @PROPERTY
    @given(strings=st.lists(_TOKEN, max_size=30))
    def test_get_prefix_take_round_trip(self, strings):
        t = tokens_of(strings)
        self.assertEqual(strings_of(t), strings)
        self.assertEqual(strings_of(t.prefix(2)), strings[:2])
        idx = np.arange(len(strings))[::-1]
        self.assertEqual(strings_of(t.take(idx)), strings[::-1])

    @PROPERTY
    @given(strings=st.lists(_TOKEN, max_size=30), sep=st.sampled_from([b'\n', b'', b'\x00\x00']))
    def test_hash_is_a_function_of_the_token_alone(self, strings, sep):
        # The same token in another buffer, at another position, next to other bytes.
        a = _tokens.hash64(tokens_of(strings))
        b = _tokens.hash64(tokens_of(strings[::-1], sep))[::-1]
        np.testing.assert_array_equal(a, b)
        one_by_one = [_tokens.hash64(tokens_of([s]))[0] for s in strings]
        np.testing.assert_array_equal(a, np.array(one_by_one, np.uint64))

    def test_hash_separates_lengths_and_zero_bytes(self):
        h = _tokens.hash64(tokens_of(['', '\x00', '\x00\x00', 'a', 'a\x00', 'a' * 8, 'a' * 9]))
        self.assertLen(set(h.tolist()), 7)

    @PROPERTY
    @given(pairs=st.lists(st.tuples(_TOKEN, _TOKEN), max_size=30), same=st.booleans())
    def test_equal_matches_bytes(self, pairs, same):
        left = [a for a, _ in pairs]
        right = [a if same else b for a, b in pairs]
        a, b = tokens_of(left), tokens_of(right, b'')
        idx = np.arange(len(pairs))
        got = _tokens.equal(a, idx, b, idx)
        np.testing.assert_array_equal(got, [x == y for x, y in zip(left, right)])

    def test_equal_compares_every_word(self):
        left = ['abcdefghX', 'a' * 16 + 'b', 'a' * 30 + 'x', 'same' * 10, '']
        right = ['abcdefghY', 'a' * 16 + 'c', 'a' * 30 + 'y', 'same' * 10, '']
        idx = np.arange(len(left))
        got = _tokens.equal(tokens_of(left), idx, tokens_of(right), idx)
        np.testing.assert_array_equal(got, [False, False, False, True, True])

    def test_tokens_at_the_end_of_the_buffer(self):
        # Whole-array words read every token's word k, also of short tokens near the end.
        strings = ['x' * 20, 'y' * 17, 'ab', 'c', '']
        t = tokens_of(strings, b'')
        first, second = t.word(0), t.word(1)
        self.assertEqual(int(first[2]), int.from_bytes(b'ab', 'little'))
        self.assertEqual(int(second[1]), int.from_bytes(b'y' * 8, 'little'))
        np.testing.assert_array_equal(second[2:], [0, 0, 0])
        np.testing.assert_array_equal(_tokens.hash64(t), _tokens.hash64(tokens_of(strings)))

    @parameterized.named_parameters(*HASHERS)
    def test_classes_match_a_dict_oracle(self, hasher):
        @PROPERTY
        @given(strings=st.lists(_TOKEN, max_size=40))
        def check(strings):
            first = {}
            expected = [first.setdefault(s, i) for i, s in enumerate(strings)]
            got = _tokens.classes(tokens_of(strings), hasher)
            np.testing.assert_array_equal(got, expected)

        check()

    @parameterized.named_parameters(*HASHERS)
    def test_match_matches_a_dict_oracle(self, hasher):
        @PROPERTY
        @given(keys=st.lists(_TOKEN, max_size=30), queries=st.lists(_TOKEN, max_size=30))
        def check(keys, queries):
            last = {s: i for i, s in enumerate(keys)}  # A later duplicate wins.
            got = _tokens.match(tokens_of(keys), tokens_of(queries), hasher)
            np.testing.assert_array_equal(got.index, [last.get(q, -1) for q in queries])
            self.assertEqual(got.keys_distinct, len(set(keys)) == len(keys))
            self.assertEqual(got.queries_distinct, len(set(queries)) == len(queries))

        check()

    @parameterized.named_parameters(
        ('hash64', _tokens.hash64), ('first_word_only', first_word_only)
    )
    def test_match_on_two_threads_matches_a_dict_oracle(self, hasher):
        # Every candidate pair is confirmed on two threads, each half byte for byte.
        @PROPERTY
        @given(keys=st.lists(_TOKEN, max_size=30), queries=st.lists(_TOKEN, max_size=30))
        def check(keys, queries):
            last = {s: i for i, s in enumerate(keys)}
            # The hashes are also sorted part by part, as in large vocabularies.
            with (
                mock.patch.object(_tokens, '_THREAD_PAIRS', 1),
                mock.patch.object(_tokens, '_SPLIT_SORT', 1),
            ):
                got = _tokens.match(tokens_of(keys), tokens_of(queries), hasher)
            np.testing.assert_array_equal(got.index, [last.get(q, -1) for q in queries])
            self.assertEqual(got.keys_distinct, len(set(keys)) == len(keys))
            self.assertEqual(got.queries_distinct, len(set(queries)) == len(queries))

        check()

    @parameterized.named_parameters(
        ('spread', lambda r, n: r.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)),
        ('one_top_byte', lambda r, n: r.integers(0, 2**40, n, dtype=np.uint64)),
        ('two_top_bytes', lambda r, n: r.choice(np.array([0, 2**64 - 1], np.uint64), n)),
        ('repeated', lambda r, n: r.integers(0, 50, n, dtype=np.uint64) << np.uint64(50)),
        ('sorted_backwards', lambda r, n: np.arange(n, dtype=np.uint64)[::-1] << np.uint64(40)),
    )
    def test_sort_uint64_matches_numpy(self, make):
        rng = np.random.default_rng(7)
        for n in (0, 1, 5, _tokens._SPLIT_SORT - 1, _tokens._SPLIT_SORT, 300_001):
            x = np.ascontiguousarray(make(rng, n))
            want = np.sort(x)
            np.testing.assert_array_equal(_tokens.sort_uint64(x.copy()), want, err_msg=str(n))
        # Parts of a few entries: split by up to 16 top bits (16-bit radix keys).
        for part_entries in (16, 1):
            x = np.ascontiguousarray(make(rng, 300_001))
            with mock.patch.object(_tokens, '_PART_ENTRIES', part_entries):
                np.testing.assert_array_equal(_tokens.sort_uint64(x.copy()), np.sort(x))
        # Beyond the largest split: one sort in place.
        x = np.ascontiguousarray(make(rng, 1000))
        with mock.patch.object(_tokens, '_SPLIT_SORT_MAX', 999):
            np.testing.assert_array_equal(_tokens.sort_uint64(x.copy()), np.sort(x))

    def test_sort_uint64_property(self):
        @PROPERTY
        @given(st.lists(st.integers(0, 2**64 - 1)), st.integers(1, 4))
        def check(values, split):
            x = np.array(values, np.uint64)
            with mock.patch.object(_tokens, '_SPLIT_SORT', split):
                np.testing.assert_array_equal(_tokens.sort_uint64(x.copy()), np.sort(x))

        check()

    def test_a_collision_never_matches_another_token(self):
        keys = tokens_of(['apple', 'pear'])
        queries = tokens_of(['plum', 'pear', 'apple', 'fig'])
        got = _tokens.match(keys, queries, constant_hash)
        np.testing.assert_array_equal(got.index, [-1, 1, 0, -1])
        self.assertTrue(got.keys_distinct)  # Checked byte for byte, not by hash.
        self.assertTrue(got.queries_distinct)

    def test_crowded_hashes_are_compared_one_by_one(self):
        # Equal high bits for all, two full hashes: runs of three or more, where equal
        # hashes need not be neighbours in the sorted order.
        def two_values(tokens):
            h = _tokens.hash64(tokens) & np.uint64(1)
            return h | np.uint64(0xABC) << np.uint64(50)

        keys = tokens_of(['a', 'b', 'c', 'd', 'a'])
        queries = tokens_of(['d', 'x', 'a', 'c', 'c'])
        got = _tokens.match(keys, queries, two_values)
        np.testing.assert_array_equal(got.index, [3, -1, 4, 2, 2])
        self.assertFalse(got.keys_distinct)
        self.assertFalse(got.queries_distinct)
        np.testing.assert_array_equal(_tokens.classes(keys, two_values), [0, 1, 2, 3, 0])

    def test_distinct_hashes_prove_distinct_tokens(self):
        got = _tokens.match(tokens_of(['a', 'b']), tokens_of(['b', 'c', 'd']))
        self.assertTrue(got.keys_distinct)
        self.assertTrue(got.queries_distinct)
        np.testing.assert_array_equal(got.index, [1, -1, -1])


if __name__ == '__main__':
    absltest.main()
