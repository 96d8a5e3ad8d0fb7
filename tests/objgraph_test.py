"""Tests of `_objgraph.py`: a checkpoint's object graph, matched as restore matches it."""

import os

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh
from warm_start_hooks import _checkpoint
from warm_start_hooks import _objgraph


class _Layer(tf.Module):
    def __init__(self, value):
        super().__init__()
        self.kernel = tf.Variable(np.full((2, 2), value, np.float32))


class _Model(tf.Module):
    """A layer reached through a list, and an 'optimizer' that holds the kernel too.

    The optimizer's path is shorter, so the saver keys the kernel through it.
    """

    def __init__(self, value):
        super().__init__()
        self.optimizer = tf.Module()
        self.layers = [_Layer(value)]
        self.optimizer.w = self.layers[0].kernel  # Shorter: the saver keys it through here.
        self.optimizer.slot = tf.Variable(np.full((2, 2), -value, np.float32))


def _save(root, directory):
    return tf.train.Checkpoint(model=root).save(os.path.join(directory, 'ckpt'))


class SavedGraphTest(absltest.TestCase):
    def setUp(self):
        super().setUp()
        self.prefix = _save(_Model(1.0), self.create_tempdir().full_path)
        self.source = _checkpoint.CheckpointSource(self.prefix)
        self.graph = self.source.graph

    def test_node_at_follows_edges(self):
        kernel = self.graph.node_at('model/layers/0/kernel')
        self.assertEqual(kernel, self.graph.node_at('model/optimizer/w'))
        self.assertIsNone(self.graph.node_at('model/layers/1/kernel'))
        self.assertEqual(self.graph.root_children[:1], ['model'])

    def test_display_path_avoids_the_optimizer(self):
        key = self.graph.keys[self.graph.node_at('model/layers/0/kernel')]
        self.assertEqual(key, 'model/optimizer/w/.ATTRIBUTES/VARIABLE_VALUE')
        paths = self.graph.display_paths()
        self.assertEqual(paths[key], 'model/layers/0/kernel')  # Not through the optimizer.
        slot = self.graph.keys[self.graph.node_at('model/optimizer/slot')]
        self.assertEqual(paths[slot], 'model/optimizer/slot')  # Only the optimizer has it.
        self.assertEqual(self.source.display_name(key), 'model/layers/0/kernel')

    def test_every_saved_name_keeps_every_key(self):
        by_name = self.graph.keys_by_full_name()
        self.assertLen(by_name['Variable'], 2)  # Both variables are unnamed.
        self.assertEqual(self.source.key_for('Variable'), None)
        self.assertLen(self.source.keys_for('Variable'), 2)


class MatchTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ('checkpoint_model', lambda m: tf.train.Checkpoint(model=m)),
        ('model_as_root', tf.train.Checkpoint),
    )
    def test_binds_like_restore(self, make_root):
        old = _Model(1.0)
        prefix = make_root(old).save(os.path.join(self.create_tempdir().full_path, 'ckpt'))
        source = _checkpoint.CheckpointSource(prefix)
        new = _Model(2.0)
        ids = [id(new.layers[0].kernel), id(new.optimizer.slot)]
        nodes = _objgraph.match(source.graph, new, ids)
        self.assertCountEqual(nodes, ids)
        # The oracle: what restore puts in a third copy, tensor by tensor.
        oracle = _Model(3.0)
        make_root(oracle).restore(prefix).assert_existing_objects_matched()
        report = wsh.warm_start(prefix, ['.*'], variables=new)
        np.testing.assert_array_equal(new.layers[0].kernel.numpy(), oracle.layers[0].kernel)
        np.testing.assert_array_equal(new.optimizer.slot.numpy(), oracle.optimizer.slot)
        np.testing.assert_array_equal(new.optimizer.slot.numpy(), -np.ones((2, 2)))
        self.assertEqual(report.counts(), {'copy': 2})

    def test_structure_that_differs_binds_what_matches(self):
        old = _Model(1.0)
        prefix = _save(old, self.create_tempdir().full_path)
        source = _checkpoint.CheckpointSource(prefix)
        new = _Model(2.0)
        new.layers.append(_Layer(5.0))  # Not in the checkpoint.
        extra = new.layers[1].kernel
        nodes = _objgraph.match(source.graph, new, [id(extra), id(new.layers[0].kernel)])
        self.assertIn(id(new.layers[0].kernel), nodes)
        self.assertNotIn(id(extra), nodes)


if __name__ == '__main__':
    absltest.main()
