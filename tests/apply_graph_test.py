"""Tests of applying a plan in graph mode (`_apply_graph.py`).

Other graph-mode faults are tested with their eager counterparts in apply_test.
"""

import os

import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh

tf1 = tf.compat.v1


class GraphCopyDtypesTest(parameterized.TestCase):
    """Partitioned copies of dtypes RestoreV2 cannot slice are read whole, not refused late."""

    @parameterized.named_parameters(
        ('float16', np.float16, tf.float16, None),
        ('float16_cast', np.float16, tf.float32, 'cast'),
        ('string', object, tf.string, None),
        ('uint32', np.uint32, tf.uint32, None),
    )
    def test_partitioned_copy(self, np_dtype, dtype, dtype_policy):
        if np_dtype is object:
            value = np.array([[b'a', b'b'], [b'c', b'd'], [b'e', b'f'], [b'g', b'h']])
        else:
            value = np.arange(8).reshape(4, 2).astype(np_dtype)
        prefix = testutil.write_checkpoint(
            os.path.join(self.create_tempdir().full_path, 'model.ckpt'), {'v': value}
        )
        options = {'dtype_policy': dtype_policy} if dtype_policy else {}
        with tf.Graph().as_default():
            v = tf1.get_variable(
                'v',
                [4, 2],
                dtype,
                partitioner=tf1.fixed_size_partitioner(2),
                initializer=tf1.zeros_initializer(),
            )
            wsh.warm_start(prefix, ['v'], **options)
            with tf1.Session() as sess:
                sess.run(tf1.global_variables_initializer())
                got = np.concatenate(sess.run(list(v)))
        # Oracle: the saved array itself (cast as the policy says).
        np.testing.assert_array_equal(got, value.astype(dtype.as_numpy_dtype))


if __name__ == '__main__':
    absltest.main()
