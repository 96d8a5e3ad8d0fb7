"""Tests of `_vocab.py`: reading, checks, and the remapping against TF's op."""

import os

import numpy as np
from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _errors
from warm_start_hooks import _vocab


def _write(directory, name, data: bytes):
    path = os.path.join(directory, name)
    with open(path, 'wb') as f:
        f.write(data)
    return path


def _tf_remapping(new_path, old_path, new_size, old_size, offset=0):
    from tensorflow.python.ops import gen_checkpoint_ops

    remap, present = gen_checkpoint_ops.generate_vocab_remapping(
        new_vocab_file=new_path,
        old_vocab_file=old_path,
        new_vocab_offset=offset,
        num_new_vocab=new_size,
        old_vocab_size=old_size,
    )
    return remap.numpy(), int(present.numpy())


class ReadVocabTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ('trailing_newline', b'a\nb\nc\n', ('a', 'b', 'c'), False),
        ('no_trailing_newline', b'a\nb\nc', ('a', 'b', 'c'), False),
        ('crlf', b'a\r\nb\r\n', ('a', 'b'), True),
        ('inner_spaces_kept', b'new york\n san\n', ('new york', ' san'), False),
        ('empty_line_is_a_token', b'a\n\nb\n', ('a', '', 'b'), False),
        ('utf8', 'caf\u00e9\n\u6771\u4eac\n'.encode(), ('caf\u00e9', '\u6771\u4eac'), False),
    )
    def test_file(self, data, tokens, crlf):
        path = _write(self.create_tempdir().full_path, 'v.txt', data)
        vocab = _vocab.read_vocab(path)
        self.assertEqual(vocab.tokens, tokens)
        self.assertEqual(vocab.crlf, crlf)
        self.assertEqual(vocab.source, path)

    def test_list(self):
        vocab = _vocab.read_vocab(['x', 'y'])
        self.assertEqual(vocab.tokens, ('x', 'y'))
        self.assertEqual(vocab.source, '<list>')

    def test_missing_file(self):
        path = os.path.join(self.create_tempdir().full_path, 'nope.txt')
        with self.assertRaisesRegex(_errors.VocabError, 'not found.*Received: path='):
            _vocab.read_vocab(path)

    def test_not_utf8(self):
        path = _write(self.create_tempdir().full_path, 'v.txt', 'caf\u00e9\n'.encode('latin-1'))
        with self.assertRaisesRegex(_errors.VocabError, 'not UTF-8.*at byte 3.*iconv'):
            _vocab.read_vocab(path)

    def test_crlf_read_like_tensorflow(self):
        d = self.create_tempdir().full_path
        old = _write(d, 'old.txt', b'a\r\nb\r\nc\r\n')
        new = _write(d, 'new.txt', b'c\na\nz\n')
        expected, _ = _tf_remapping(new, old, 3, -1)
        got = _vocab.remapping(
            _vocab.read_vocab(new).tokens, 3, _vocab.read_vocab(old).tokens
        ).old_index
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(got, [2, 0, -1])


class ProblemsTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ('empty', (), 3, 'is empty'),
        ('short', ('a', 'b'), 3, 'has 2 tokens, fewer than the 3'),
        ('duplicates', ('a', 'b', 'a'), -1, r"duplicate tokens: 'a' \(lines 1 and 3\)"),
        ('whitespace_variants', ('a', 'a ', 'b'), -1, 'differ only by surrounding whitespace'),
    )
    def test_problem(self, tokens, size, pattern):
        problems = _vocab.problems(_vocab.Vocab('v.txt', tokens), size, 'new', 'emb')
        self.assertLen(problems, 1)
        self.assertRegex(problems[0], pattern)
        self.assertIn("new vocabulary of 'emb' (v.txt)", problems[0])

    def test_duplicates_beyond_size_are_ignored(self):
        vocab = _vocab.Vocab('v.txt', ('a', 'b', 'a'))
        self.assertEqual(_vocab.problems(vocab, 2, 'old', 'emb'), [])

    def test_good_vocab(self):
        self.assertEqual(_vocab.problems(_vocab.Vocab('v', ('a', 'b')), 2, 'old', 'e'), [])

    def test_whitespace_across_files(self):
        old = _vocab.Vocab('old', ('apple', 'pear'))
        new = _vocab.Vocab('new', ('apple ', 'pear', 'kiwi'))
        (problem,) = _vocab.whitespace_problems(old, new, 'emb')
        self.assertIn("'apple ' vs 'apple'", problem)
        self.assertEqual(_vocab.whitespace_problems(old, _vocab.Vocab('n', ('kiwi',)), 'e'), [])


class RemappingTest(parameterized.TestCase):
    def test_counts(self):
        r = _vocab.remapping(['a', 'c', 'x', 'd'], 4, ['a', 'b', 'c', 'd'], -1, 2)
        np.testing.assert_array_equal(r.old_index, [0, 2, -1, 3])
        self.assertEqual((r.kept, r.moved, r.new, r.dropped), (2, 1, 1, 1))
        np.testing.assert_array_equal(r.full_index(), [0, 2, -1, 3, -1, -1])
        self.assertEqual(r.total, 6)

    def test_old_size_limits_old_vocab(self):
        r = _vocab.remapping(['d', 'a'], 2, ['a', 'b', 'c', 'd'], 2)
        np.testing.assert_array_equal(r.old_index, [-1, 0])
        self.assertEqual(r.dropped, 1)  # 'b' is gone; 'c', 'd' were never in use.

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
        old_path = _write(d, 'old.txt', ('\n'.join(old) + '\n').encode())
        new_path = _write(d, 'new.txt', ('\n'.join(new) + '\n').encode())
        expected, present = _tf_remapping(new_path, old_path, new_size, old_size)
        got = _vocab.remapping(new, new_size, old, old_size)
        np.testing.assert_array_equal(got.old_index, expected)
        self.assertEqual(got.kept + got.moved, present)

    def test_describe(self):
        self.assertEqual(_vocab.describe('/x/v.txt'), '/x/v.txt')
        self.assertEqual(_vocab.describe(['a', 'b']), '<list of 2 tokens>')


if __name__ == '__main__':
    absltest.main()
