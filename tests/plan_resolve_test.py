"""Tests of `_plan_resolve.py`: every variable gets its own tensor, or a clear error.

The oracle is `tf.train.Checkpoint.restore` (Keras's `load_weights` for a
`.weights.h5` file) on another fresh copy of the same objects: a warm start
with no renames must give every variable exactly what restore gives it, even
when variables share names. Where restore has no answer (a plain list of
variables, a name-based checkpoint), the warm start refuses and changes
nothing.
"""

import importlib
import os

import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import warm_start_hooks as wsh

tf1 = tf.compat.v1


def _keras(flavour):
    """The Keras module of `flavour` ('keras3', 'tf.keras2', 'tf_keras'), or None."""
    try:
        if flavour == 'tf_keras':
            return importlib.import_module('tf_keras')
        keras = importlib.import_module('keras')
    except ImportError:
        return None
    is_3 = keras.__version__.startswith('3.')
    if flavour == 'keras3':
        return keras if is_3 else None
    return keras if not is_3 else None


KERAS_FLAVOURS = (('keras3', 'keras3'), ('tf_keras2', 'tf.keras2'), ('tf_keras', 'tf_keras'))


class UnnamedModule(tf.Module):
    """Three unnamed variables: all of them are 'Variable:0'."""

    def __init__(self, seed):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.w1 = tf.Variable(rng.normal(size=(2, 3)).astype(np.float32))
        self.b1 = tf.Variable(rng.normal(size=(3,)).astype(np.float32))
        self.w2 = tf.Variable(rng.normal(size=(3, 3)).astype(np.float32))


def _values(variables):
    return [np.array(v.numpy()) for v in variables]


def _restored(make, prefix):
    """What tf.train.Checkpoint(model=...).restore gives a fresh copy: the oracle."""
    ref = make(99)
    tf.train.Checkpoint(model=ref).restore(prefix).assert_existing_objects_matched()
    return ref


class ModuleTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.old = UnnamedModule(0)
        directory = self.create_tempdir().full_path
        self.prefix = tf.train.Checkpoint(model=self.old).save(os.path.join(directory, 'ckpt'))

    def test_unnamed_variables_like_restore_eager(self):
        new = UnnamedModule(1)
        report = wsh.warm_start(self.prefix, variables=new)
        oracle = _restored(UnnamedModule, self.prefix)
        for got, want, old in zip(
            _values(new.variables), _values(oracle.variables), _values(self.old.variables)
        ):
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(got, old)
        self.assertEqual(report.names(), ['Variable'] * 3)
        self.assertEqual(
            sorted(e.id for e in report.entries),
            ['Variable@b1', 'Variable@w1', 'Variable@w2'],
        )
        self.assertEqual(report.entry('Variable@b1').source_path, 'model/b1')
        self.assertEqual({e.renamed_by for e in report.entries}, {'object path'})
        with self.assertRaisesRegex(KeyError, '3 variables are named'):
            report.entry('Variable')

    def test_unnamed_variables_like_restore_graph(self):
        want = _values(_restored(UnnamedModule, self.prefix).variables)
        with tf.Graph().as_default():
            new = UnnamedModule(1)
            wsh.warm_start(self.prefix, variables=new)
            with tf1.Session() as sess:
                sess.run(tf1.global_variables_initializer())
                got = sess.run(list(new.variables))
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)

    def test_list_without_object_graph_is_refused(self):
        # A list has no object paths; the saved name 'Variable' names three tensors.
        new = UnnamedModule(1)
        before = _values(new.variables)
        with self.assertRaisesRegex(
            wsh.WarmStartError, r"looks up 'Variable', which names 3 tensors.*variables=model"
        ):
            wsh.warm_start(self.prefix, variables=list(new.variables))
        for got, want in zip(_values(new.variables), before):
            np.testing.assert_array_equal(got, want)

    def test_refs_disambiguate(self):
        new = UnnamedModule(1)
        report = wsh.warm_start(
            self.prefix,
            variables=list(new.variables),
            var_name_to_prev_var_name={
                new.w1.ref(): 'model/w1',
                new.b1.ref(): 'model/b1',
                new.w2.ref(): 'model/w2',
            },
        )
        for got, want in zip(_values(new.variables), _values(self.old.variables)):
            np.testing.assert_array_equal(got, want)
        self.assertEqual(report.counts(), {'copy': 3})

    def test_name_key_shared_by_variables_is_refused(self):
        new = UnnamedModule(1)
        with self.assertRaisesRegex(
            wsh.WarmStartError,
            r"has 'Variable', but 3 selected variables have that name \(Variable at b1, "
            r'Variable at w1, Variable at w2\).*variable.ref\(\)',
        ):
            wsh.warm_start(
                self.prefix, variables=new, var_name_to_prev_var_name={'Variable': 'model/w1'}
            )


class NameBasedTest(parameterized.TestCase):
    def test_twins_from_name_based_checkpoint_are_refused(self):
        prefix = testutil.write_checkpoint(
            os.path.join(self.create_tempdir().full_path, 'model.ckpt'),
            {'Variable': np.ones((3,), np.float32)},
        )
        a, b = tf.Variable(np.zeros(3, np.float32)), tf.Variable(np.zeros(3, np.float32))
        with self.assertRaisesRegex(
            wsh.WarmStartError,
            r"2 selected variables are named 'Variable'.*name-based, and one name is one tensor"
            r'.*\{v\.ref\(\)',
        ):
            wsh.warm_start(prefix, variables=[a, b])
        np.testing.assert_array_equal(a.numpy(), np.zeros(3))
        # One of them, named by identity, is fine: the other keeps the name.
        wsh.warm_start(
            prefix,
            variables=[a, b],
            var_name_to_prev_var_name={a.ref(): 'Variable'},
            vars_to_warm_start=[a],
        )
        np.testing.assert_array_equal(a.numpy(), np.ones(3))


def _two_w_layer(keras):
    class TwoW(keras.layers.Layer):
        """One layer, add_weight(name='w') twice."""

        def build(self, input_shape):
            self.w1 = self.add_weight(name='w', shape=(input_shape[-1], 2))
            self.w2 = self.add_weight(name='w', shape=(input_shape[-1], 2))

        def call(self, x):
            return tf.matmul(x, self.w1) + tf.matmul(x, self.w2)

    return TwoW


def _twins_model(keras, seed):
    """A subclassed model with two Dense layers named 'd' and a layer with two 'w' weights."""

    class Twins(keras.Model):
        def __init__(self):
            super().__init__()
            self.first = keras.layers.Dense(3, name='d')
            self.second = keras.layers.Dense(3, name='d')
            self.two = _two_w_layer(keras)()

        def call(self, x):
            return self.two(self.second(self.first(x)))

    model = Twins()
    model(np.ones((1, 3), np.float32))
    rng = np.random.default_rng(seed)
    for v in model.variables:
        v.assign(rng.normal(size=tuple(v.shape)).astype(np.float32))
    return model


class KerasTest(parameterized.TestCase):
    @parameterized.named_parameters(*KERAS_FLAVOURS)
    def test_repeated_names_like_restore(self, flavour):
        keras = _keras(flavour)
        if keras is None:
            self.skipTest(f'{flavour} is not installed on this stack')
        old = _twins_model(keras, 0)
        directory = self.create_tempdir().full_path
        prefix = tf.train.Checkpoint(model=old).save(os.path.join(directory, 'ckpt'))
        new = _twins_model(keras, 1)
        report = wsh.warm_start(prefix, variables=new)
        oracle = _twins_model(keras, 2)
        tf.train.Checkpoint(model=oracle).restore(prefix).assert_existing_objects_matched()
        self.assertLen(report.entries, 6)
        for got, want, before in zip(
            _values(new.variables), _values(oracle.variables), _values(old.variables)
        ):
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(got, before)
        self.assertLen({e.source_key for e in report.entries}, 6)

    def test_repeated_names_from_weights_h5_like_load_weights(self):
        keras = _keras('keras3')
        if keras is None:
            self.skipTest('Keras 3 is not installed on this stack')
        old = _twins_model(keras, 0)
        path = os.path.join(self.create_tempdir().full_path, 'old.weights.h5')
        old.save_weights(path)
        new = _twins_model(keras, 1)
        report = wsh.warm_start(path, variables=new)
        oracle = _twins_model(keras, 2)
        oracle.load_weights(path)
        for got, want, before in zip(
            _values(new.variables), _values(oracle.variables), _values(old.variables)
        ):
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(got, before)
        self.assertEqual({e.renamed_by for e in report.entries}, {'object path'})

    def test_h5_layer_name_shared_by_two_layers_is_refused(self):
        keras = _keras('keras3')
        if keras is None:
            self.skipTest('Keras 3 is not installed on this stack')
        path = os.path.join(self.create_tempdir().full_path, 'old.weights.h5')
        _twins_model(keras, 0).save_weights(path)
        new = _twins_model(keras, 1)
        kernel = new.first.kernel
        with self.assertRaisesRegex(wsh.WarmStartError, r"looks up 'd/0', which names 2 tensors"):
            wsh.warm_start(
                path,
                vars_to_warm_start=[kernel],
                variables=new,
                var_name_to_prev_var_name={kernel.value.ref(): 'd/0'},
            )


# ---- property: random trees with repeated names, against restore ---------------

_VARIABLE = st.tuples(
    st.just('var'),
    st.sampled_from(['w', 'b', None]),  # None: an unnamed variable, 'Variable:0'.
    st.sampled_from([(2,), (3,), (2, 3)]),
    st.booleans(),  # trainable
)
_TREE = st.recursive(
    _VARIABLE,
    lambda inner: st.tuples(
        st.sampled_from(['module', 'list']), st.lists(inner, min_size=1, max_size=3)
    ),
    max_leaves=8,
)
# The root module's children, and whether it also holds its first variable a second time.
_SPECS = st.tuples(st.lists(_TREE, min_size=1, max_size=4), st.booleans())


def _build(spec, seed):
    """A tf.Module tree from `spec`; the same spec always gives the same structure."""
    rng = np.random.default_rng(seed)
    made = []

    def build(node):
        if node[0] == 'var':
            _, name, shape, trainable = node
            value = rng.normal(size=shape).astype(np.float32)
            made.append(tf.Variable(value, name=name, trainable=trainable))
            return made[-1]
        children = [build(child) for child in node[1]]
        if node[0] == 'list':
            return children  # Tracked as a list: paths 'c0/1/...'.
        module = tf.Module()
        for i, child in enumerate(children):
            setattr(module, f'c{i}', child)
        return module

    children, shared = spec
    root = build(('module', children))
    if shared:
        root.shared = made[0]  # A second path to the same variable.
    return root


class RestorePropertyTest(parameterized.TestCase):
    @settings(max_examples=15, deadline=None, derandomize=True, database=None)
    @given(spec=_SPECS)
    def test_like_checkpoint_restore(self, spec):
        old = _build(spec, 0)
        directory = self.create_tempdir().full_path
        prefix = tf.train.Checkpoint(model=old).save(os.path.join(directory, 'ckpt'))
        new = _build(spec, 1)
        report = wsh.warm_start(prefix, ['.*'], variables=new)
        oracle = _build(spec, 2)
        tf.train.Checkpoint(model=oracle).restore(prefix).assert_existing_objects_matched()
        self.assertLen(report.entries, len(new.variables))
        for got, want, before in zip(
            _values(new.variables), _values(oracle.variables), _values(old.variables)
        ):
            np.testing.assert_array_equal(got, want, err_msg=str(spec))
            np.testing.assert_array_equal(got, before, err_msg=str(spec))


if __name__ == '__main__':
    absltest.main()
