"""Tests of `_vocab.py`: checks, the remapping and `check_pair`, against TensorFlow and Python.

Oracles: TensorFlow's `GenerateVocabRemapping` op (the remapping, and which
files it refuses), TensorFlow's `warm_start` (values), and a plain-Python
dict (a property test over random vocabularies, with the real hash and with
hashes that force collisions).
"""

import os

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import warm_start_hooks as wsh
from warm_start_hooks import _tokens
from warm_start_hooks import _vocab

tf1 = tf.compat.v1
PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None)
TF_PROPERTY = settings(max_examples=20, deadline=None, derandomize=True, database=None)


def _write(directory, name, data):
    if isinstance(data, (list, tuple)):
        data = ''.join(t + '\n' for t in data)
    if isinstance(data, str):
        data = data.encode('utf-8')
    path = os.path.join(directory, name)
    with open(path, 'wb') as f:
        f.write(data)
    return path


def _tf_remapping(new_path, old_path, new_size, old_size=-1):
    from tensorflow.python.ops import gen_checkpoint_ops

    remap, present = gen_checkpoint_ops.generate_vocab_remapping(
        new_vocab_file=new_path,
        old_vocab_file=old_path,
        new_vocab_offset=0,
        num_new_vocab=new_size,
        old_vocab_size=old_size,
    )
    return remap.numpy(), int(present.numpy())


def _dict_remapping(new, new_size, old, old_size):
    """The remapping from its definition: the old line of each new token."""
    used = old if old_size < 0 else old[:old_size]
    lookup = {t: i for i, t in enumerate(used)}
    return [lookup.get(t, -1) for t in new[:new_size]]


def constant_hash(tokens):
    return np.zeros(len(tokens), np.uint64)


def first_word_only(tokens):
    head = _tokens.Tokens(tokens.data, tokens.starts, np.minimum(tokens.lengths, 8))
    return _tokens.hash64(head) ^ (tokens.lengths.astype(np.uint64) << np.uint64(40))


HASHERS = (('hash64', _tokens.hash64), ('constant', constant_hash), ('prefix', first_word_only))

# Vocabulary tokens: unicode, inner and surrounding whitespace, look-alikes.
_CHARS = st.sampled_from(list('abc ') + ['\u3000', '\u00e9', '\U0001f600', '\t'])
_TOKEN = st.text(_CHARS, min_size=1, max_size=10).filter(lambda t: t.strip('\r') == t)


class ProblemsTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ('empty', [], 3, 'is empty'),
        ('short', ['a', 'b'], 3, 'has 2 tokens, fewer than the 3'),
        ('duplicates', ['a', 'b', 'a'], -1, r"duplicate tokens: 'a' \(lines 1 and 3\)"),
        ('many_duplicates', ['a'] * 8, -1, r"'a' \(lines 1 and 6\) and 2 more"),
    )
    def test_problem(self, tokens, size, pattern):
        problems = _vocab.problems(_vocab.read_vocab(tokens), size, 'new', 'emb')
        self.assertLen(problems, 1)
        self.assertRegex(problems[0], pattern)
        self.assertIn("new vocabulary of 'emb' (<list>)", problems[0])

    def test_duplicates_beyond_size_are_ignored(self):
        vocab = _vocab.read_vocab(['a', 'b', 'a'])
        self.assertEqual(_vocab.problems(vocab, 2, 'old', 'emb'), [])

    @parameterized.named_parameters(*HASHERS)
    def test_duplicates_found_through_collisions(self, hasher):
        vocab = _vocab.read_vocab(['x', 'y', 'xx', 'y', 'z', 'x'], hasher)
        (problem,) = _vocab.problems(vocab, -1, 'old', 'emb')
        self.assertIn("'y' (lines 2 and 4), 'x' (lines 1 and 6)", problem)

    def test_good_vocab(self):
        self.assertEqual(_vocab.problems(_vocab.read_vocab(['a', 'b']), 2, 'old', 'e'), [])

    def test_empty_token_of_a_sequence_is_a_token(self):
        # A StringLookup vocabulary with mask_token='' starts with ''.
        self.assertEqual(_vocab.problems(_vocab.read_vocab(['', 'a']), -1, 'new', 'e'), [])

    # Files and the sizes used, and whether TensorFlow's op refuses them (the oracle).
    @parameterized.named_parameters(
        ('middle', 'a\n\nb\n', 3, -1),
        ('first', '\na\nb\n', 3, -1),
        ('blank_line_at_end', 'a\nb\n\n', 3, -1),
        ('crlf', 'a\r\n\r\nb\r\n', 3, -1),
        ('new_beyond_size', 'b\na\n\nc\n', 2, -1),
        ('old_beyond_size', 'b\na\n\nc\n', 2, 2),
        ('old_within_size', 'b\n\na\nc\n', 2, 3),
        ('spaces_only', 'a\n \nb\n', 3, -1),
    )
    def test_empty_lines_refused_as_tensorflow_refuses_them(self, text, size, old_size):
        d = self.create_tempdir().full_path
        path = _write(d, 'v.txt', text)
        other = _write(d, 'other.txt', ['a', 'b', 'c', 'zz'])
        for role in ('new', 'old'):
            with self.subTest(role=role):
                new, old = (path, other) if role == 'new' else (other, path)
                new_size = size if role == 'new' else 2
                try:
                    _tf_remapping(new, old, new_size, old_size if role == 'old' else -1)
                    tf_refuses = False
                except tf.errors.InvalidArgumentError as e:
                    tf_refuses = 'empty line' in str(e)
                vocab = _vocab.read_vocab(path)
                ours = _vocab.problems(vocab, new_size if role == 'new' else old_size, role, 'e')
                empty = [p for p in ours if 'empty line' in p]
                self.assertEqual(bool(empty), tf_refuses, (role, ours))
                if empty:
                    line = text.replace('\r', '').split('\n').index('') + 1
                    self.assertIn(f'Received: line={line}', empty[0])


class RemappingTest(parameterized.TestCase):
    def test_counts(self):
        r = _vocab.remapping(['a', 'c', 'x', 'd'], 4, ['a', 'b', 'c', 'd'], -1, 2)
        np.testing.assert_array_equal(r.old_index, [0, 2, -1, 3])
        self.assertEqual((r.kept, r.moved, r.new, r.dropped, r.old_used), (2, 1, 1, 1, 4))
        np.testing.assert_array_equal(r.full_index(), [0, 2, -1, 3, -1, -1])
        self.assertEqual(r.total, 6)

    def test_old_size_limits_old_vocab(self):
        r = _vocab.remapping(['d', 'a'], 2, ['a', 'b', 'c', 'd'], 2)
        np.testing.assert_array_equal(r.old_index, [-1, 0])
        self.assertEqual(r.dropped, 1)  # 'b' is gone; 'c', 'd' were never in use.

    def test_later_duplicate_wins(self):
        r = _vocab.remapping(['a', 'b'], 2, ['a', 'b', 'a'])
        np.testing.assert_array_equal(r.old_index, [2, 1])
        self.assertEqual(r.dropped, 0)

    def test_new_size_beyond_the_vocabulary(self):
        with self.assertRaisesRegex(ValueError, 'new_size 3 exceeds the 2 tokens'):
            _vocab.remapping(['a', 'b'], 3, ['a'])

    @parameterized.named_parameters(
        ('all', 0, -1, None),
        ('old_size', 1, 5, None),
        ('new_size_smaller', 2, -1, 7),
        ('both', 3, 9, 11),
    )
    def test_equals_generate_vocab_remapping(self, seed, old_size, new_size):
        rng = np.random.default_rng(seed)
        words = [f'w{i}' for i in range(40)]
        old = list(rng.choice(words, 15, replace=False))
        new = list(rng.choice(words, 20, replace=False))
        new_size = new_size or len(new)
        d = self.create_tempdir().full_path
        old_path, new_path = _write(d, 'old.txt', old), _write(d, 'new.txt', new)
        expected, present = _tf_remapping(new_path, old_path, new_size, old_size)
        got = _vocab.remapping(
            _vocab.read_vocab(new_path), new_size, _vocab.read_vocab(old_path), old_size
        )
        np.testing.assert_array_equal(got.old_index, expected)
        self.assertEqual(got.kept + got.moved, present)

    @parameterized.named_parameters(*HASHERS)
    def test_matches_a_dict_oracle(self, hasher):
        @PROPERTY
        @given(
            old=st.lists(_TOKEN, max_size=25),
            new=st.lists(_TOKEN, max_size=25),
            data=st.data(),
        )
        def check(old, new, data):
            old_size = data.draw(st.sampled_from([-1, *range(1, len(old) + 1)]))
            new_size = data.draw(st.integers(0, len(new)))
            r = _vocab.remapping(
                _vocab.read_vocab(new, hasher), new_size, _vocab.read_vocab(old, hasher), old_size
            )
            expected = _dict_remapping(new, new_size, old, old_size)
            np.testing.assert_array_equal(r.old_index, np.array(expected, np.int64))
            kept = sum(i == j for i, j in enumerate(expected))
            found = sum(j >= 0 for j in expected)
            used = old if old_size < 0 else old[:old_size]
            self.assertEqual((r.kept, r.moved, r.new), (kept, found - kept, new_size - found))
            self.assertEqual(r.dropped, len(set(used) - set(new[:new_size])))

        check()

    @TF_PROPERTY
    @given(
        pool=st.lists(_TOKEN, min_size=1, max_size=30, unique=True),
        data=st.data(),
    )
    def test_matches_generate_vocab_remapping(self, pool, data):
        old = data.draw(st.permutations(pool)).copy()[: data.draw(st.integers(1, len(pool)))]
        new = data.draw(st.permutations(pool)).copy()[: data.draw(st.integers(1, len(pool)))]
        dup = data.draw(st.booleans())
        if dup:
            old = old + old[:1]  # TensorFlow refuses the file; so must the checks.
        d = self.create_tempdir().full_path
        old_path, new_path = _write(d, 'old.txt', old), _write(d, 'new.txt', new)
        ours_old, ours_new = _vocab.read_vocab(old_path), _vocab.read_vocab(new_path)
        problems = _vocab.problems(ours_old, -1, 'old', 'e')
        try:
            expected, _ = _tf_remapping(new_path, old_path, len(new))
        except tf.errors.OpError:
            self.assertTrue(dup)
            self.assertLen(problems, 1)
            self.assertIn('duplicate tokens', problems[0])
            return
        self.assertFalse(dup)
        self.assertEqual(problems, [])
        got = _vocab.remapping(ours_new, len(new), ours_old)
        np.testing.assert_array_equal(got.old_index, expected)

    def test_describe(self):
        self.assertEqual(_vocab.describe('/x/v.txt'), '/x/v.txt')
        self.assertEqual(_vocab.describe(b'/x/v.txt'), '/x/v.txt')
        self.assertEqual(_vocab.describe(['a', 'b']), '<list of 2 tokens>')

    def test_find(self):
        vocab = _vocab.read_vocab(['apple', 'pear', 'apple!', 'fig'])
        self.assertEqual(vocab.find('fig'), 3)
        self.assertEqual(vocab.find('fig', 3), -1)
        self.assertEqual(vocab.find('apple'), 0)
        self.assertEqual(vocab.find('plum'), -1)


class WarmStartTest(parameterized.TestCase):
    """Vocabulary inputs end to end, against TensorFlow's warm_start or a numpy oracle."""

    OLD = ['apple', 'banana', 'guava', 'orange']
    NEW = ['orange', 'kiwi', 'apple']

    def setUp(self):
        super().setUp()
        self.dir = self.create_tempdir().full_path
        self.values = np.arange(12, dtype=np.float32).reshape(4, 3) + 1
        tf.raw_ops.SaveV2(
            prefix=os.path.join(self.dir, 'ckpt'),
            tensor_names=['emb'],
            shape_and_slices=[''],
            tensors=[tf.constant(self.values)],
        )
        self.prefix = os.path.join(self.dir, 'ckpt')

    def _eager(self, info):
        v = tf.Variable(np.full((4, 3), -1, np.float32))
        wsh.warm_start(self.prefix, variables={'emb': v}, var_name_to_vocab_info={'emb': info})
        return v.numpy()

    def _expected(self, new, old):
        out = np.zeros((len(new) + 1, 3), np.float32)
        for i, t in enumerate(new):
            if t in old:
                out[i] = self.values[old.index(t)]
        return out

    @parameterized.named_parameters(
        ('bytes', lambda ts: [t.encode() for t in ts]),
        ('numpy_str', np.array),
        ('numpy_bytes', lambda ts: np.array([t.encode() for t in ts])),
        ('tuple', tuple),
    )
    def test_sequences_match_the_file(self, convert):
        info = wsh.VocabInfo(convert(self.NEW), 3, 1, convert(self.OLD))
        np.testing.assert_array_equal(self._eager(info), self._expected(self.NEW, self.OLD))

    def test_bytes_against_a_file(self):
        old = _write(self.dir, 'old.txt', self.OLD)
        info = wsh.VocabInfo([t.encode() for t in self.NEW], 3, 1, old)
        np.testing.assert_array_equal(self._eager(info), self._expected(self.NEW, self.OLD))

    def test_bytes_path(self):
        old = _write(self.dir, 'old.txt', self.OLD).encode()
        info = wsh.VocabInfo(self.NEW, 3, 1, old)
        np.testing.assert_array_equal(self._eager(info), self._expected(self.NEW, self.OLD))

    def test_integer_vocabularies(self):
        info = wsh.VocabInfo([40, 7, 12], 3, 1, np.array([12, 5, 9, 40]))
        np.testing.assert_array_equal(
            self._eager(info), np.stack([self.values[3], np.zeros(3), self.values[0], np.zeros(3)])
        )

    def test_no_token_in_common_changes_nothing(self):
        v = tf.Variable(np.full((4, 3), -1, np.float32))
        info = wsh.VocabInfo([b'apple', b'kiwi', b'fig'], 3, 1, ['x', 'y', 'z', 'w'])
        with self.assertRaisesRegex(wsh.WarmStartError, 'none of the 3 tokens'):
            wsh.warm_start(self.prefix, variables={'emb': v}, var_name_to_vocab_info={'emb': info})
        np.testing.assert_array_equal(v.numpy(), np.full((4, 3), -1))

    @parameterized.named_parameters(('numpy', 'numpy'), ('tf_ops', 'tf_ops'))
    def test_no_overlap_allowed_equals_tensorflow(self, backend):
        old = _write(self.dir, 'old.txt', self.OLD)
        new = _write(self.dir, 'new.txt', ['kiwi', 'lime', 'fig'])

        def fill(shape, dtype=tf.float32, partition_info=None):
            del partition_info
            return tf.fill(shape, tf.constant(-7.0, dtype))

        ours = self._graph(
            lambda: wsh.warm_start(
                self.prefix,
                'emb',
                {'emb': wsh.VocabInfo(new, 3, 1, old, -1, fill, allow_no_overlap=True)},
                remap_backend=backend,
            )
        )
        theirs = self._graph(
            lambda: tf1.train.warm_start(
                self.prefix, 'emb', {'emb': tf1.train.VocabInfo(new, 3, 1, old, -1, fill)}
            )
        )
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(ours, np.full((4, 3), -7))

    @parameterized.named_parameters(('numpy', 'numpy'), ('tf_ops', 'tf_ops'))
    def test_empty_line_refused_at_plan_time_where_tensorflow_fails_later(self, backend):
        old = _write(self.dir, 'old.txt', self.OLD)
        new = _write(self.dir, 'new.txt', 'orange\n\napple\n')
        with self.assertRaises(tf.errors.InvalidArgumentError):
            self._graph(
                lambda: tf1.train.warm_start(
                    self.prefix, 'emb', {'emb': tf1.train.VocabInfo(new, 3, 1, old)}
                )
            )
        with self.assertRaisesRegex(wsh.WarmStartError, r'1 empty line\(s\): line 2'):
            self._graph(
                lambda: wsh.warm_start(
                    self.prefix,
                    'emb',
                    {'emb': wsh.VocabInfo(new, 3, 1, old)},
                    remap_backend=backend,
                )
            )

    def _graph(self, warm_start):
        with tf.Graph().as_default():
            v = tf1.get_variable('emb', initializer=np.full((4, 3), -1, np.float32))
            warm_start()
            with tf1.Session() as sess:
                sess.run(tf1.global_variables_initializer())
                return sess.run(v)


if __name__ == '__main__':
    absltest.main()
