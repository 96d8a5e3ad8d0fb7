"""Tests of `_lookalikes.py`: whitespace look-alikes are notes, never refusals, never stripped.

The values of a warm start over vocabularies with look-alikes (byte-level
BPE, character vocabularies) are checked against TensorFlow's `warm_start`.
"""

import os

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh
from warm_start_hooks import _lookalikes
from warm_start_hooks import _vocab

tf1 = tf.compat.v1


def _notes(old, new, **kwargs):
    return _lookalikes.notes(_vocab.read_vocab(old), _vocab.read_vocab(new), 'emb', **kwargs)


class NotesTest(parameterized.TestCase):
    def test_none_without_surrounding_whitespace(self):
        self.assertEqual(_notes(['a', 'b c', '\u200bx'], ['b c', 'd']), [])

    def test_within_a_vocabulary(self):
        (note,) = _notes(['x'], ['the', ' the', 'the ', 'a', '\u3000', ' '])
        self.assertIn("the new vocabulary of 'emb' has 2 group(s)", note)
        self.assertIn("'the' and ' the' and 'the '; '\\u3000' and ' '", note)
        self.assertIn('distinct tokens, matched exactly and kept as they are', note)

    def test_across_the_vocabularies(self):
        notes = _notes(['apple', ' pear', 'fig'], ['apple ', 'pear', 'fig'])
        self.assertLen(notes, 1)
        self.assertIn('2 token(s) of the new vocabulary', notes[0])
        self.assertIn("'apple ' vs 'apple', 'pear' vs ' pear'", notes[0])

    def test_sizes_limit_what_is_looked_at(self):
        self.assertEqual(_notes(['a', ' b'], ['b', 'c'], old_size=1), [])
        self.assertEqual(_notes(['a'], ['a', 'a '], new_size=1), [])

    def test_more_than_five_are_counted(self):
        old = [f'w{i}' for i in range(8)]
        (note,) = _notes(old, [f' {t}' for t in old])
        self.assertIn('8 token(s)', note)
        self.assertIn('and 3 more', note)


class WarmStartTest(parameterized.TestCase):
    """Look-alikes are distinct tokens: the same values as TensorFlow's warm_start."""

    @parameterized.named_parameters(
        ('byte_level_bpe', ['the', ' the', 'a', ' a'], [' the', 'b', 'the', ' a', 'a']),
        ('characters', [' ', '\u3000', '\t', 'x'], ['\u3000', 'x', ' ', 'y', '\t']),
        ('across_files', ['apple', 'pear ', 'fig'], ['pear', 'apple ', 'fig', 'kiwi', 'lime']),
    )
    def test_values_equal_tensorflow(self, old, new):
        d = self.create_tempdir().full_path
        prefix = os.path.join(d, 'ckpt')
        values = np.arange(len(old) * 2, dtype=np.float32).reshape(-1, 2) + 1
        tf.raw_ops.SaveV2(
            prefix=prefix, tensor_names=['emb'], shape_and_slices=[''], tensors=[values]
        )
        old_path = self._write(d, 'old.txt', old)
        new_path = self._write(d, 'new.txt', new)
        ours, report = self._graph(
            len(new),
            lambda: wsh.warm_start(
                prefix, 'emb', {'emb': wsh.VocabInfo(new_path, len(new), 1, old_path)}
            ),
        )
        theirs, _ = self._graph(
            len(new),
            lambda: tf1.train.warm_start(
                prefix, 'emb', {'emb': tf1.train.VocabInfo(new_path, len(new), 1, old_path)}
            ),
        )
        np.testing.assert_array_equal(ours, theirs)
        expected = np.zeros((len(new) + 1, 2), np.float32)
        for i, t in enumerate(new):
            if t in old:
                expected[i] = values[old.index(t)]
        np.testing.assert_array_equal(ours, expected)
        self.assertTrue(report.notes)
        self.assertTrue(all('surrounding whitespace' in n for n in report.notes))

    def _write(self, d, name, tokens):
        path = os.path.join(d, name)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(''.join(t + '\n' for t in tokens))
        return path

    def _graph(self, n, warm_start):
        with tf.Graph().as_default():
            v = tf1.get_variable('emb', initializer=np.full((n + 1, 2), -1, np.float32))
            report = warm_start()
            with tf1.Session() as sess:
                sess.run(tf1.global_variables_initializer())
                return sess.run(v), report


if __name__ == '__main__':
    absltest.main()
