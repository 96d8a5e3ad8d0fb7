"""Tests of `_variables.py`: naming, partition grouping and selection."""

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _variables

tf1 = tf.compat.v1


def _graph_with_variables():
    g = tf.Graph()
    with g.as_default():
        tf1.get_variable('dense/kernel', shape=[3, 2])
        tf1.get_variable('dense/bias', shape=[2])
        tf1.get_variable('emb', shape=[6, 2], partitioner=tf1.fixed_size_partitioner(3))
        tf1.get_variable('bn/moving_mean', shape=[2], trainable=False)
        tf1.train.get_or_create_global_step()
    return g


class GroupingTest(parameterized.TestCase):
    def test_partitions_group_into_one_target(self):
        with _graph_with_variables().as_default():
            pool = _variables.graph_pool()
        emb = [t for t in pool.everything if t.name == 'emb']
        self.assertLen(emb, 1)
        (emb,) = emb
        self.assertEqual(emb.full_shape, (6, 2))
        self.assertLen(emb.parts, 3)
        self.assertEqual([p.offset for p in emb.parts], [(0, 0), (2, 0), (4, 0)])
        self.assertTrue(emb.partitioned)
        self.assertEqual(emb.nbytes, 6 * 2 * 4)
        self.assertEqual(emb.parts[1].spec(emb.full_shape), '6 2 2,2:0,2')
        self.assertIn('emb/part_1', emb.aliases)

    def test_unpartitioned_spec_is_empty(self):
        with _graph_with_variables().as_default():
            pool = _variables.graph_pool()
        kernel = [t for t in pool.everything if t.name == 'dense/kernel'][0]
        self.assertFalse(kernel.partitioned)
        self.assertEqual(kernel.parts[0].spec(kernel.full_shape), '')

    def test_sharded_variable(self):
        shards = [
            tf.Variable(np.zeros((2, 3), np.float32)),
            tf.Variable(np.zeros((3, 3), np.float32)),
        ]
        sharded = tf.__internal__.distribute.ShardedVariable(shards, name='emb')
        (t,) = _variables.to_targets([sharded])
        self.assertEqual(t.name, 'emb')
        self.assertEqual(t.full_shape, (5, 3))
        self.assertEqual([p.offset for p in t.parts], [(0, 0), (2, 0)])

    def test_eager_names_without_output_index(self):
        v = tf.Variable(1.0, name='scope/w')
        self.assertEqual(_variables.variable_name(v), 'scope/w')

    def test_dict_pool_uses_keys(self):
        a, b = tf.Variable(1.0), tf.Variable(2.0, trainable=False)
        pool = _variables.object_pool({'x/a': a, 'x/b': b})
        self.assertEqual([t.name for t in pool.everything], ['x/a', 'x/b'])
        self.assertEqual([t.name for t in pool.trainable], ['x/a'])

    def test_module_pool_and_object_paths(self):
        class M(tf.Module):
            def __init__(self):
                super().__init__()
                self.w = tf.Variable(np.ones((2, 2), np.float32), name='w')
                self.s = tf.Variable(0.0, trainable=False, name='s')

        m = M()
        pool = _variables.object_pool(m)
        self.assertLen(pool.everything, 2)
        self.assertLen(pool.trainable, 1)
        paths = pool.object_paths()
        self.assertEqual(paths[id(m.w)], ['w'])
        ckpt_pool = _variables.object_pool(tf.train.Checkpoint(model=m))
        self.assertEqual(sorted(ckpt_pool.object_paths()[id(m.w)]), ['model/w'])

    def test_bad_pool(self):
        with self.assertRaisesRegex(TypeError, 'Received: variables=int'):
            _variables.object_pool(3)


if __name__ == '__main__':
    absltest.main()
