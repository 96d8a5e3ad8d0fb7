"""Tests of `_plan_vocab.py`: what a remap can do is checked when planning, not when run."""

import os

import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh

tf1 = tf.compat.v1

OLD = ['apple', 'banana', 'guava']
NEW = ['guava', 'apple', 'kiwi']


class TfOpsBackendTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.dir = self.create_tempdir().full_path
        self.old = testutil.write_lines(self.dir, 'old.txt', OLD)
        self.new = testutil.write_lines(self.dir, 'new.txt', NEW)

    def _checkpoint(self, dtype):
        value = np.arange(6).reshape(3, 2).astype(dtype.as_numpy_dtype)
        return testutil.write_checkpoint(os.path.join(self.dir, 'model.ckpt'), {'emb': value})

    @parameterized.named_parameters(('bfloat16', tf.bfloat16), ('float16', tf.float16))
    def test_cast_from_half_floats_is_refused_when_planning(self, source_dtype):
        prefix = self._checkpoint(source_dtype)
        with tf.Graph().as_default():
            emb = tf1.get_variable('emb', [3, 2], initializer=tf1.zeros_initializer())
            before = emb.initializer
            with self.assertRaisesRegex(
                wsh.WarmStartError,
                rf"'emb': remap_backend='tf_ops' reads float32 checkpoint tensors only.*"
                rf'cannot cast from {source_dtype.name}',
            ):
                wsh.warm_start(
                    prefix,
                    ['emb'],
                    {'emb': wsh.VocabInfo(self.new, 3, 0, self.old)},
                    dtype_policy='cast',
                    remap_backend='tf_ops',
                )
            self.assertIs(emb.initializer, before)

    @parameterized.named_parameters(('bfloat16', tf.bfloat16), ('float16', tf.float16))
    def test_numpy_backend_casts_them(self, source_dtype):
        prefix = self._checkpoint(source_dtype)
        old = np.arange(6).reshape(3, 2).astype(np.float32)
        with tf.Graph().as_default():
            emb = tf1.get_variable('emb', [3, 2], initializer=tf1.zeros_initializer())
            wsh.warm_start(
                prefix,
                ['emb'],
                {'emb': wsh.VocabInfo(self.new, 3, 0, self.old)},
                dtype_policy='cast',
            )
            with tf1.Session() as sess:
                sess.run(tf1.global_variables_initializer())
                got = sess.run(emb)
        # Numpy oracle: rows of NEW from OLD's rows, zeros for the new token.
        np.testing.assert_array_equal(got, np.stack([old[2], old[0], np.zeros(2)]))

    def test_partitioned_float16_with_tf_ops_is_refused_when_planning(self):
        prefix = self._checkpoint(tf.float16)
        with tf.Graph().as_default():
            tf1.get_variable('emb', [3, 2], tf.float16, partitioner=tf1.fixed_size_partitioner(2))
            with self.assertRaisesRegex(
                wsh.WarmStartError, r"remap_backend='tf_ops' supports float32 only"
            ):
                wsh.warm_start(
                    prefix,
                    ['emb'],
                    {'emb': wsh.VocabInfo(self.new, 3, 0, self.old)},
                    remap_backend='tf_ops',
                )


if __name__ == '__main__':
    absltest.main()
