"""Imports warm_start_hooks from another workspace and warm-starts a variable."""

import os

import numpy as np
import tensorflow as tf
from absl.testing import absltest

import warm_start_hooks as wsh


class _Model(tf.Module):
    def __init__(self, value):
        super().__init__()
        self.emb = tf.Variable(value, name='emb')


class ConsumerTest(absltest.TestCase):
    def test_package_comes_from_the_external_repository(self):
        # Bazel's copy in this test's runfiles, not an installed distribution.
        expected = os.path.join(
            os.environ['TEST_SRCDIR'], 'warm_start_hooks_py', 'warm_start_hooks', '__init__.py'
        )
        self.assertEqual(os.path.abspath(wsh.__file__), os.path.abspath(expected))
        self.assertRegex(wsh.__version__, r'^\d+\.\d+\.\d+')
        self.assertTrue(callable(wsh.warm_start))
        self.assertEqual(wsh.WarmStartHook.__module__, 'warm_start_hooks.estimator')

    def test_warm_start_a_variable(self):
        values = np.arange(6, dtype=np.float32).reshape(3, 2)
        prefix = tf.train.Checkpoint(model=_Model(values)).save(
            os.path.join(self.create_tempdir().full_path, 'ckpt')
        )
        new = _Model(np.zeros((3, 2), np.float32))
        report = wsh.warm_start(prefix, variables=new)

        restored = _Model(np.zeros((3, 2), np.float32))
        tf.train.Checkpoint(model=restored).restore(prefix).assert_existing_objects_matched()
        np.testing.assert_array_equal(new.emb.numpy(), restored.emb.numpy())
        self.assertLen(report.entries, 1)
        self.assertTrue(report.applied)


if __name__ == '__main__':
    absltest.main()
