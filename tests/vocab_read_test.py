"""Tests of `_vocab_read.py`: files split into tokens exactly as TensorFlow's ops split them.

The oracle for files is TensorFlow's `GenerateVocabRemapping`: when a file
is read as our tokens say, mapping it against a clean file of those tokens
gives the identity, from either side.
"""

import os

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from warm_start_hooks import _errors
from warm_start_hooks import _vocab_read

PROPERTY = settings(max_examples=25, deadline=None, derandomize=True, database=None)


def _write(directory, name, data: bytes):
    path = os.path.join(directory, name)
    with open(path, 'wb') as f:
        f.write(data)
    return path


def _tokens(read):
    t = read.table
    return [t.get(i).decode('utf-8') for i in range(len(t))]


def _tf_remapping(new_path, old_path, new_size):
    from tensorflow.python.ops import gen_checkpoint_ops

    remap, _ = gen_checkpoint_ops.generate_vocab_remapping(
        new_vocab_file=new_path,
        old_vocab_file=old_path,
        new_vocab_offset=0,
        num_new_vocab=new_size,
        old_vocab_size=-1,
    )
    return remap.numpy()


# Tokens as they are after reading: not empty, not ending in '\r', no '\n'.
_CHARS = st.sampled_from(list('ab \t\r') + ['\u3000', '\u00e9', '\U0001f600', '\x00'])
_TOKEN = st.text(_CHARS, min_size=1, max_size=6).filter(lambda t: not t.endswith('\r'))


class ReadFileTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ('trailing_newline', b'a\nb\nc\n', ['a', 'b', 'c'], False),
        ('no_trailing_newline', b'a\nb\nc', ['a', 'b', 'c'], False),
        ('crlf', b'a\r\nb\r\n', ['a', 'b'], True),
        ('crlf_last_line_without_newline', b'a\r\nb\r', ['a', 'b'], True),
        ('one_cr_dropped', b'a\r\r\nb\n', ['a\r', 'b'], True),
        ('inner_spaces_kept', b'new york\n san\n', ['new york', ' san'], False),
        ('empty_line_is_read', b'a\n\nb\n', ['a', '', 'b'], False),
        ('blank_line_at_end', b'a\n\n', ['a', ''], False),
        ('utf8', 'caf\u00e9\n\u6771\u4eac\n'.encode(), ['caf\u00e9', '\u6771\u4eac'], False),
        ('empty_file', b'', [], False),
    )
    def test_file(self, data, tokens, crlf):
        path = _write(self.create_tempdir().full_path, 'v.txt', data)
        read = _vocab_read.read_file(path)
        self.assertEqual(_tokens(read), tokens)
        self.assertEqual(read.crlf, crlf)
        self.assertEqual(read.source, path)
        self.assertTrue(read.from_file)

    @PROPERTY
    @given(
        tokens=st.lists(_TOKEN, min_size=1, max_size=12, unique=True),
        crlf=st.booleans(),
        last_newline=st.booleans(),
    )
    def test_split_like_generate_vocab_remapping(self, tokens, crlf, last_newline):
        d = self.create_tempdir().full_path
        end = '\r\n' if crlf else '\n'
        text = end.join(tokens) + (end if last_newline else '')
        path = _write(d, 'file.txt', text.encode('utf-8'))
        read = _tokens(_vocab_read.read_file(path))
        self.assertEqual(read, tokens)
        clean = _write(d, 'clean.txt', ''.join(t + '\n' for t in read).encode('utf-8'))
        identity = np.arange(len(read))
        np.testing.assert_array_equal(_tf_remapping(clean, path, len(read)), identity)
        np.testing.assert_array_equal(_tf_remapping(path, clean, len(read)), identity)

    def test_missing_file(self):
        path = os.path.join(self.create_tempdir().full_path, 'nope.txt')
        with self.assertRaisesRegex(_errors.VocabError, 'not found.*Received: path='):
            _vocab_read.read_file(path)

    def test_directory(self):
        d = self.create_tempdir().full_path
        with self.assertRaisesRegex(_errors.VocabError, 'could not be read.*Received: path='):
            _vocab_read.read_file(d)

    def test_not_utf8_names_byte_and_line(self):
        data = b'ok\nfine\ncaf\xe9\n'
        path = _write(self.create_tempdir().full_path, 'v.txt', data)
        with self.assertRaisesRegex(_errors.VocabError, r'not UTF-8 .*at byte 11, line 3.*iconv'):
            _vocab_read.read_file(path)

    def test_ram_filesystem(self):
        path = 'ram://vocab_read_test/v.txt'
        with tf.io.gfile.GFile(path, 'wb') as f:
            f.write(b'x\ny\n')
        self.assertEqual(_tokens(_vocab_read.read_file(path)), ['x', 'y'])


class ReadSequenceTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ('str', ['a', 'b c', ''], ['a', 'b c', '']),
        ('bytes_decoded_as_utf8', [b'caf\xc3\xa9', b'x'], ['caf\u00e9', 'x']),
        ('ints_in_decimal', [3, 70, -1], ['3', '70', '-1']),
        ('numpy_str', np.array(['a', 'bb']), ['a', 'bb']),
        ('numpy_bytes', np.array([b'a', b'bb']), ['a', 'bb']),
        ('numpy_ints', np.array([5, 6], np.int64), ['5', '6']),
        ('numpy_objects', np.array(['a', 'b'], object), ['a', 'b']),
        ('tuple', ('x',), ['x']),
        ('newline_inside_a_token', ['a\nb', 'c', 'd\n'], ['a\nb', 'c', 'd\n']),
        ('carriage_return_kept', ['a\r', 'b'], ['a\r', 'b']),
        ('empty', [], []),
    )
    def test_sequence(self, seq, tokens):
        read = _vocab_read.read_sequence(seq)
        self.assertEqual(_tokens(read), tokens)
        self.assertEqual(read.source, '<list>')
        self.assertFalse(read.from_file)
        self.assertFalse(read.crlf)

    def test_a_million_tokens_stay_one_buffer(self):
        read = _vocab_read.read_sequence([f't{i}' for i in range(1_000_000)])
        self.assertLen(read.table, 1_000_000)
        self.assertEqual(read.table.get(999_999), b't999999')
        self.assertIsInstance(read.table.data, np.ndarray)

    @parameterized.named_parameters(
        ('float', [1.5], r'Item 0 is float\. .*Received: vocab\[0\]=1\.5'),
        ('bool', [True], r'Item 0 is bool'),
        ('mixed_str_int', ['a', 3], r'Item 1 is int after str items.*Received: vocab\[1\]=3'),
        ('mixed_str_bytes', ['a', b'b'], r'Item 1 is bytes after str items'),
        ('none', ['a', None], r'Item 1 is NoneType'),
        ('float_array', np.array([1.0]), r'array must be 1-D and hold str.*dtype=float64'),
        ('matrix', np.array([['a']]), r'array must be 1-D.*shape=\(1, 1\)'),
        ('not_a_sequence', 5, r'file path or a sequence of tokens\. Received: vocab=5'),
        ('bytes_not_utf8', [b'ok', b'caf\xe9'], r'not UTF-8 .*at byte 6, item 1'),
        ('lone_surrogate', ['\ud800'], r'cannot be written as UTF-8'),
    )
    def test_refused(self, seq, pattern):
        with self.assertRaisesRegex(_errors.VocabError, pattern):
            _vocab_read.read_sequence(seq)


if __name__ == '__main__':
    absltest.main()
