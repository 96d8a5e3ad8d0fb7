"""Tests of `_plan_policy.py`: shape and dtype policies, and what their errors suggest."""

import os

import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh

OLD = {
    'emb': np.arange(12, dtype=np.float32).reshape(4, 3),
    'head': np.arange(6, dtype=np.float32).reshape(3, 2),
    'bias': np.ones((2,), np.float32),
}


class ShapeMismatchTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.prefix = testutil.write_checkpoint(
            os.path.join(self.create_tempdir().full_path, 'model.ckpt'), OLD
        )

    @parameterized.named_parameters(
        ('rows', 'emb', (5, 3), 'Only its rows (e.g. an embedding) changed', 'axis=0'),
        ('columns', 'head', (3, 4), 'Only its columns (e.g. classes) changed', 'axis=1'),
    )
    def test_vocabulary_axis_suggests_vocab_info_first(self, name, shape, what, axis):
        v = tf.Variable(np.full(shape, -1, np.float32), name=name)
        with self.assertRaises(wsh.WarmStartError) as cm:
            wsh.warm_start(self.prefix, variables=[v])
        (problem,) = cm.exception.problems
        self.assertIn(what, problem)
        self.assertIn(axis, problem)
        self.assertLess(problem.index('var_name_to_vocab_info'), problem.index('shape_policy'))
        np.testing.assert_array_equal(v.numpy(), np.full(shape, -1))

    def test_other_mismatches_keep_the_plain_hint(self):
        v = tf.Variable(np.zeros((4,), np.float32), name='bias')
        with self.assertRaises(wsh.WarmStartError) as cm:
            wsh.warm_start(self.prefix, variables=[v])
        (problem,) = cm.exception.problems
        self.assertNotIn('var_name_to_vocab_info', problem)
        self.assertIn("set shape_policy='skip' or 'overlap'", problem)

    def test_overlap_on_rows_is_noted(self):
        v = tf.Variable(np.full((5, 3), -1, np.float32), name='emb')
        report = wsh.warm_start(self.prefix, variables=[v], shape_policy='overlap')
        # Numpy oracle: the old rows by position, the extra row fresh.
        np.testing.assert_array_equal(v.numpy(), np.concatenate([OLD['emb'], -np.ones((1, 3))]))
        (note,) = report.notes
        self.assertIn("emb: shape_policy='overlap' copied rows by position", note)
        self.assertIn('var_name_to_vocab_info', note)
        self.assertIn(note, report.table())

    def test_overlap_on_columns_only_is_not_noted(self):
        v = tf.Variable(np.full((3, 4), -1, np.float32), name='head')
        report = wsh.warm_start(self.prefix, variables=[v], shape_policy='overlap')
        np.testing.assert_array_equal(v.numpy(), np.concatenate([OLD['head'], -np.ones((3, 2))], 1))
        self.assertEmpty(report.notes)


if __name__ == '__main__':
    absltest.main()
