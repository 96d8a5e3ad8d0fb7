"""Tests of `_select.py`: selection by TensorFlow's rules, against TensorFlow's own."""

import os

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh
from warm_start_hooks import _select
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


class SelectTest(parameterized.TestCase):
    def _select(self, spec, collection=None):
        with _graph_with_variables().as_default():
            pool = _variables.graph_pool()
            return _select.select(spec, collection, pool), pool

    @parameterized.named_parameters(
        ('regex_is_trainable', '.*', None, ['dense/kernel', 'dense/bias', 'emb']),
        ('regex_prefix_match', 'dense', None, ['dense/kernel', 'dense/bias']),
        ('list_is_global', ['.*'], None, ['dense/kernel', 'dense/bias', 'emb', 'bn/moving_mean']),
        ('explicit_all', '.*', 'all', ['dense/kernel', 'dense/bias', 'emb', 'bn/moving_mean']),
        ('explicit_trainable', ['.*'], 'trainable', ['dense/kernel', 'dense/bias', 'emb']),
        ('union', ['dense/b', 'bn'], None, ['dense/bias', 'bn/moving_mean']),
        ('global_step_named', ['global_step'], None, ['global_step']),
        ('all_partitions_by_name', ['emb/part_0', 'emb/part_1', 'emb/part_2'], None, ['emb']),
        ('partitions_by_prefix', 'emb/part_', None, ['emb']),
    )
    def test_tensorflow_rules(self, spec, collection, expected):
        selection, _ = self._select(spec, collection)
        self.assertEqual(selection.problems, [])
        self.assertEqual([t.name for t in selection.targets], expected)

    def test_none_selects_trainable_for_vocab_only(self):
        selection, _ = self._select(None)
        self.assertTrue(selection.vocab_only)
        self.assertEqual([t.name for t in selection.targets], ['dense/kernel', 'dense/bias', 'emb'])

    def test_variables_as_given(self):
        with _graph_with_variables().as_default():
            pool = _variables.graph_pool()
            kernel = [v for v in tf1.global_variables() if v.op.name == 'dense/kernel']
            selection = _select.select(kernel, None, pool)
        self.assertEqual([t.name for t in selection.targets], ['dense/kernel'])

    def test_regex_matching_nothing(self):
        selection, _ = self._select(['dense', 'nothing_here'])
        (problem,) = selection.problems
        self.assertIn("pattern 'nothing_here' matches no global variable", problem)
        self.assertIn("Received: pattern='nothing_here'", problem)

    def test_invalid_regex(self):
        selection, _ = self._select('dense(')
        (problem,) = selection.problems
        self.assertIn('invalid regex', problem)

    def test_mixed_list_rejected(self):
        with _graph_with_variables().as_default():
            pool = _variables.graph_pool()
            v = tf1.global_variables()[0]
            selection = _select.select(['dense', v], None, pool)
        (problem,) = selection.problems
        self.assertIn('vars_to_warm_start must be a regex string', problem)


def _parity_checkpoint(directory):
    """sc/a (4x2, in 2 partitions) and sc/b (3,), saved with ones."""
    with tf.Graph().as_default():
        _parity_model(tf1.ones_initializer())
        with tf1.Session() as s:
            s.run(tf1.global_variables_initializer())
            return tf1.train.Saver().save(s, os.path.join(directory, 'model.ckpt'))


def _parity_model(init):
    with tf1.variable_scope('sc'):
        a = tf1.get_variable(
            'a', [4, 2], initializer=init, partitioner=tf1.fixed_size_partitioner(2)
        )
        b = tf1.get_variable('b', [3], initializer=init)
    return a, b


def _warm_start_values(warm_start, prefix, spec):
    """Values after `warm_start(prefix, spec)` on fresh zeros, or the exception raised."""
    with tf.Graph().as_default():
        a, b = _parity_model(tf1.zeros_initializer())
        try:
            warm_start(prefix, spec)
        except ValueError as e:
            error = e
        else:
            error = None
        with tf1.Session() as s:
            s.run(tf1.global_variables_initializer())
            values = {'a': np.concatenate(s.run(list(a))), 'b': s.run(b)}
    return values, error


class TfParityTest(parameterized.TestCase):
    """Partitioned selection against `tf.compat.v1.train.warm_start` on the same graph."""

    def setUp(self):
        super().setUp()
        self.prefix = _parity_checkpoint(self.create_tempdir().full_path)

    @parameterized.named_parameters(
        ('scope', ['sc/'], {'a': 1.0, 'b': 1.0}),
        ('every_partition', ['sc/a/part_0', 'sc/a/part_1'], {'a': 1.0, 'b': 0.0}),
        ('partition_prefix', ['sc/a/part_'], {'a': 1.0, 'b': 0.0}),
        ('string_scope', 'sc/b', {'a': 0.0, 'b': 1.0}),
    )
    def test_same_selection_as_tensorflow(self, spec, expected):
        theirs, error = _warm_start_values(tf1.train.warm_start, self.prefix, spec)
        self.assertIsNone(error)
        ours, error = _warm_start_values(wsh.warm_start, self.prefix, spec)
        self.assertIsNone(error)
        for name, value in expected.items():
            np.testing.assert_array_equal(theirs[name], np.full_like(theirs[name], value))
            np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)

    @parameterized.named_parameters(
        ('partitioned_dollar', ['sc/a$']),
        ('dollar', ['sc/b$']),
        ('string_dollar', 'sc/a$'),
    )
    def test_tensorflow_selects_nothing_and_we_refuse(self, spec):
        # TensorFlow's regexes see 'sc/a/part_0:0' and 'sc/b:0': '$' matches none, and it
        # warm-starts nothing, silently. We say so, and change nothing either.
        theirs, error = _warm_start_values(tf1.train.warm_start, self.prefix, spec)
        self.assertIsNone(error)
        ours, error = _warm_start_values(wsh.warm_start, self.prefix, spec)
        self.assertIsInstance(error, wsh.WarmStartError)
        self.assertRegex(str(error), r"matches no .* variable.*end in ':0'")
        for name in ('a', 'b'):
            np.testing.assert_array_equal(theirs[name], np.zeros_like(theirs[name]))
            np.testing.assert_array_equal(ours[name], theirs[name])

    def test_one_partition_is_refused_where_tensorflow_fails(self):
        theirs, error = _warm_start_values(tf1.train.warm_start, self.prefix, ['sc/a/part_0'])
        self.assertIsInstance(error, ValueError)
        self.assertIn("doesn't match with shape", str(error))
        ours, error = _warm_start_values(wsh.warm_start, self.prefix, ['sc/a/part_0'])
        self.assertIsInstance(error, wsh.WarmStartError)
        self.assertIn("selects 1 of the 2 partitions of variable 'sc/a'", str(error))
        self.assertIn("Select every partition, e.g. with 'sc/a/'", str(error))
        np.testing.assert_array_equal(ours['a'], np.zeros((4, 2)))

    def test_eager_names_have_no_output_index(self):
        # Eager variables (Keras 3 paths) are matched by their names, '$' included.
        pool = _variables.object_pool([tf.Variable(1.0, name='sc/b')])
        selection = _select.select(['sc/b$'], None, pool)
        self.assertEqual(selection.problems, [])
        self.assertEqual([t.name for t in selection.targets], ['sc/b'])


if __name__ == '__main__':
    absltest.main()
