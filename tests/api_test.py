"""Differential tests of `warm_start`, `init_from_checkpoint` and `plan`.

Each scenario of TensorFlow's own `warm_starting_util_test.py` and
`checkpoint_utils_test.py` (the `tfNN` in a test's name is its number in that
list) builds the same tiny graph twice: once warm-started by
`tf.compat.v1.train.warm_start` / `init_from_checkpoint`, once by ours. After
`global_variables_initializer` every variable must hold the same values in
both, and the literal values the scenario expects. Where TensorFlow raises,
we must raise `WarmStartError` too, and leave every initializer unchanged.

Numpy oracles cover what TensorFlow cannot do: eager mode, Keras 3
variables, the full-shape backup initializer, `old_vocab_size` on axis 1 and
partial object-checkpoint selection.

Feature columns (`fc.linear_model`, `fc.input_layer`) are replaced by the
variables they create, made directly with `get_variable`.
"""

import contextlib
import os

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh

v1 = tf.compat.v1

BACKENDS = (('numpy', 'numpy'), ('tf_ops', 'tf_ops'))
# (old parts, new parts) of partitioned-variable tests.
PART_COMBOS = ((1, 1), (1, 3), (2, 3), (3, 1), (3, 2), (2, 2))


def _keras3():
    try:
        import keras
    except ImportError:
        return None
    return keras if hasattr(keras, 'Variable') else None


# ---- fixtures ------------------------------------------------------------


def _rows_partitioner(n):
    """Splits dimension 0 into `n` parts, like the TF tests' `[n, 1]` lambdas."""
    return lambda shape, dtype: [n] + [1] * (len(shape) - 1)


def _one_part(shape, dtype):
    """TF's `[1] * len(shape)`: a 1-part `PartitionedVariable`."""
    del dtype
    return [1] * len(shape)


def _min2(shape, dtype):
    """The TF tests' `_partitioner`: `min(2, dim0)` parts along rows."""
    del dtype
    return [min(2, int(shape[0]))] + [1] * (len(shape) - 1)


def _parts(v):
    """The list of parts of a variable, `PartitionedVariable` or list."""
    if isinstance(v, (list, tuple)):
        return list(v)
    if hasattr(v, '_get_variable_list'):
        return v._get_variable_list()
    return [v]


def _flat(variables):
    """Variables and lists of partitions as one list of variables."""
    return [p for v in variables for p in _parts(v)]


def _var(name, shape, initializer=None, partitioner=None, dtype=tf.float32, **kwargs):
    return v1.get_variable(
        name,
        shape=shape,
        dtype=dtype,
        initializer=initializer or v1.zeros_initializer(),
        partitioner=partitioner,
        **kwargs,
    )


def save_checkpoint(directory, tensors, partitioner=None):
    """Saves `{name: value}` with a v1 Saver as `<directory>/model-0`.

    Args:
      directory: Where to write (a `checkpoint` state file is written too).
      tensors: Variable name to numpy value.
      partitioner: A partitioner for every variable, or a dict of name to
        partitioner. Partitioned variables are saved as slices.

    Returns:
      `directory`.
    """
    with tf.Graph().as_default():
        made = {}
        for name, value in tensors.items():
            value = np.asarray(value)
            if value.dtype == np.float64:
                value = value.astype(np.float32)
            p = partitioner.get(name) if isinstance(partitioner, dict) else partitioner
            made[name] = _var(name, value.shape, partitioner=p, dtype=tf.as_dtype(value.dtype))
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            for name, v in made.items():
                for part in _parts(v):
                    full = np.asarray(tensors[name], part.dtype.as_numpy_dtype)
                    sess.run(part.assign(_slice_of(full, part)))
            v1.train.Saver().save(sess, os.path.join(directory, 'model'), global_step=0)
    return directory


def save_object_checkpoint(directory, **variables):
    """Saves eager `tf.Variable`s (or `tf.Module`s) with `tf.train.Checkpoint`."""
    tf.train.Checkpoint(**variables).save(os.path.join(directory, 'ckpt'))
    return directory


def _slice_of(full, part):
    info = getattr(part, '_save_slice_info', None)
    if info is None:
        return full
    return full[tuple(slice(o, o + n) for o, n in zip(info.var_offset, info.var_shape))]


def write_vocab(directory, name, tokens):
    path = os.path.join(directory, name)
    with open(path, 'w') as f:
        f.write(''.join(t + '\n' for t in tokens))
    return path


def run_graph(build, warm=None):
    """Builds a graph, warm-starts it, runs the global initializer.

    Args:
      build: `() -> {name: variable, PartitionedVariable or list of parts}`.
      warm: `(variables) -> None`, called after `build`; None for no warm start.

    Returns:
      `{name: [value of each part]}`.
    """
    with tf.Graph().as_default() as graph:
        variables = build()
        if warm is not None:
            warm(variables)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            return {n: [sess.run(p) for p in _parts(v)] for n, v in variables.items()}


def tf_vocab_info(info):
    """TensorFlow's VocabInfo with the same fields as ours."""
    return v1.train.VocabInfo(
        info.new_vocab,
        info.new_vocab_size,
        info.num_oov_buckets,
        info.old_vocab,
        old_vocab_size=info.old_vocab_size,
        backup_initializer=info.backup_initializer,
        axis=info.axis,
    )


def _tf_args(args):
    args = dict(args)
    if args.get('var_name_to_vocab_info'):
        args['var_name_to_vocab_info'] = {
            k: tf_vocab_info(v) for k, v in args['var_name_to_vocab_info'].items()
        }
    return args


def remap_oracle(old, new_tokens, new_size, old_tokens, old_size=-1, oov=0, axis=0, fill=0.0):
    """What a vocabulary remap must give, in numpy."""
    used = old_tokens if old_size < 0 else old_tokens[:old_size]
    lookup = {t: i for i, t in enumerate(used)}
    index = [lookup.get(t, -1) for t in new_tokens[:new_size]] + [-1] * oov
    old = np.asarray(old) if axis == 0 else np.asarray(old).T
    out = np.full((len(index), old.shape[1]), fill, old.dtype)
    for i, j in enumerate(index):
        if j >= 0:
            out[i] = old[j]
    return out if axis == 0 else out.T


# The checkpoint of the `checkpoint_utils_test` scenarios.
def _cu_values():
    rng = np.random.default_rng(7)
    return {
        'var1': rng.uniform(-1, 1, [1, 10]).astype(np.float32),
        'var2': rng.uniform(-1, 1, [10, 10]).astype(np.float32),
        'var3': rng.uniform(-1, 1, [100, 100]).astype(np.float32),
        'useful_scope/var4': rng.uniform(-1, 1, [9, 9]).astype(np.float32),
    }


FRUITS = np.array([[0.5], [1.0], [1.5], [2.0]], np.float32)
FRUIT_LAYER = np.array([[0.5, 0.3], [1.0, 0.8], [1.5, 1.2], [2.0, 2.3]], np.float32)
FRUIT_LAYER_REMAPPED = np.array(
    [[0.3, 0.5, 0.0], [0.8, 1.0, 0.0], [1.2, 1.5, 0.0], [2.3, 2.0, 0.0]], np.float32
)
OLD_FRUITS = ['apple', 'banana', 'guava', 'orange']
NEW_FRUITS = ['orange', 'guava', 'banana', 'apple', 'raspberry']


class Parts(tuple):
    """Expected values of each part of a partitioned variable, in order."""

    def __new__(cls, *parts):
        return super().__new__(cls, parts)


class _DiffTestCase(parameterized.TestCase):
    """Runs a graph twice, TensorFlow's way and ours, and compares."""

    def assertValues(self, got, expected):
        """`expected`: name -> `Parts`, or one array (the parts concatenated)."""
        for name, want in expected.items():
            if isinstance(want, Parts):
                self.assertLen(got[name], len(want), name)
                for g, w in zip(got[name], want):
                    np.testing.assert_array_equal(g, np.asarray(w, g.dtype), err_msg=name)
            else:
                np.testing.assert_array_equal(
                    np.concatenate(got[name]), np.asarray(want), err_msg=name
                )

    def assertSameAsTf(self, build, tf_warm, our_warm, expected):
        """Both warm starts give the same values, and `expected` ones."""
        want = run_graph(build, tf_warm)
        got = run_graph(build, our_warm)
        self.assertEqual(sorted(want), sorted(got))
        for name in want:
            self.assertLen(got[name], len(want[name]), name)
            for g, w in zip(got[name], want[name]):
                np.testing.assert_array_equal(g, w, err_msg=f'{name}: ours vs TensorFlow')
        self.assertValues(got, expected)
        return got

    def assertWarmStartSameAsTf(self, build, ckpt, expected, backend='numpy', **args):
        """`warm_start(ckpt, **args)` of TensorFlow and of ours agree.

        `args` values may be callables of the built variables (for lists of
        variables).
        """

        def resolve(vs):
            return {k: (a(vs) if callable(a) else a) for k, a in args.items()}

        return self.assertSameAsTf(
            build,
            lambda vs: v1.train.warm_start(ckpt, **_tf_args(resolve(vs))),
            lambda vs: wsh.warm_start(ckpt, remap_backend=backend, **resolve(vs)),
            expected,
        )

    def assertInitSameAsTf(self, build, ckpt, assignment_map, expected):
        """`init_from_checkpoint(ckpt, map)` of TensorFlow and of ours agree."""

        def resolve(vs):
            m = assignment_map(vs) if callable(assignment_map) else assignment_map
            return m

        return self.assertSameAsTf(
            build,
            lambda vs: v1.train.init_from_checkpoint(ckpt, resolve(vs)),
            lambda vs: wsh.init_from_checkpoint(ckpt, resolve(vs)),
            expected,
        )

    def assertBothRaise(self, build, tf_call, our_call, tf_error, tf_regex, our_regex):
        """TensorFlow raises; we raise WarmStartError and change no initializer."""
        fresh = run_graph(build)
        with tf.Graph().as_default():
            variables = build()
            with self.assertRaisesRegex(tf_error, tf_regex):
                tf_call(variables)

        def ours(variables):
            with self.assertRaisesRegex(wsh.WarmStartError, our_regex) as cm:
                our_call(variables)
            self.assertIsInstance(cm.exception, ValueError)

        got = run_graph(build, ours)
        for name in fresh:
            for g, w in zip(got[name], fresh[name]):
                np.testing.assert_array_equal(g, w, err_msg=f'{name} changed after an error')


class WarmStartVarTest(_DiffTestCase):
    """Scenarios 1-4: one variable through `init_from_checkpoint`."""

    @parameterized.named_parameters(('resource', True), ('ref', False))
    def test_tf01_warm_start_var(self, use_resource):
        ckpt = save_checkpoint(self.create_tempdir().full_path, {'fruit_weights': FRUITS})

        def build():
            return {'fruit_weights': _var('fruit_weights', [4, 1], use_resource=use_resource)}

        self.assertInitSameAsTf(
            build,
            ckpt,
            lambda vs: {'fruit_weights': vs['fruit_weights']},
            {'fruit_weights': FRUITS},
        )

    def test_tf02_prev_var_partitioned(self):
        ckpt = save_checkpoint(
            self.create_tempdir().full_path, {'fruit_weights': FRUITS}, _rows_partitioner(2)
        )
        self.assertInitSameAsTf(
            lambda: {'fruit_weights': _var('fruit_weights', [4, 1])},
            ckpt,
            lambda vs: {'fruit_weights': vs['fruit_weights']},
            {'fruit_weights': FRUITS},
        )

    def test_tf03_current_var_partitioned(self):
        ckpt = save_checkpoint(self.create_tempdir().full_path, {'fruit_weights': FRUITS})
        self.assertInitSameAsTf(
            lambda: {'fruit_weights': _var('fruit_weights', [4, 1], None, _rows_partitioner(2))},
            ckpt,
            lambda vs: {'fruit_weights': _parts(vs['fruit_weights'])},
            {'fruit_weights': Parts(FRUITS[:2], FRUITS[2:])},
        )

    def test_tf04_both_vars_partitioned(self):
        ckpt = save_checkpoint(
            self.create_tempdir().full_path,
            {'old_scope/fruit_weights': FRUITS},
            _rows_partitioner(2),
        )

        def build():
            return {'w': _var('new_scope/fruit_weights', [4, 1], None, _rows_partitioner(2))}

        self.assertInitSameAsTf(
            build,
            ckpt,
            lambda vs: {'old_scope/fruit_weights': _parts(vs['w'])},
            {'w': Parts(FRUITS[:2], FRUITS[2:])},
        )

    def test_partitioned_variable_object_is_accepted(self):
        # TensorFlow's init_from_checkpoint rejects a PartitionedVariable object
        # (TypeError); ours takes it like the list of its parts.
        ckpt = save_checkpoint(self.create_tempdir().full_path, {'fruit_weights': FRUITS})

        def build():
            return {'w': _var('fruit_weights', [4, 1], None, _rows_partitioner(2))}

        with tf.Graph().as_default():
            w = build()['w']
            with self.assertRaises(TypeError):
                v1.train.init_from_checkpoint(ckpt, {'fruit_weights': w})
        got = run_graph(
            build, lambda vs: wsh.init_from_checkpoint(ckpt, {'fruit_weights': vs['w']})
        )
        self.assertValues(got, {'w': Parts(FRUITS[:2], FRUITS[2:])})


class WarmStartVocabTest(_DiffTestCase):
    """Scenarios 5-13: vocabulary remaps, rows and columns, partitioned or not."""

    def _fixture(self, new_tokens=NEW_FRUITS, layer=False, old_partitioner=None):
        d = self.create_tempdir().full_path
        old = write_vocab(d, 'old_vocab', OLD_FRUITS if not layer else ['apple', 'orange'])
        new = write_vocab(d, 'new_vocab', new_tokens)
        if layer:
            save_checkpoint(d, {'fruit_output_layer': FRUIT_LAYER}, old_partitioner)
        else:
            save_checkpoint(d, {'fruit_weights': FRUITS}, old_partitioner)
        return d, old, new

    @parameterized.named_parameters(*BACKENDS)
    def test_tf05_with_vocab(self, backend):
        d, old, new = self._fixture()
        self.assertWarmStartSameAsTf(
            lambda: {'fruit_weights': _var('fruit_weights', [5, 1])},
            d,
            {'fruit_weights': [[2], [1.5], [1], [0.5], [0]]},
            backend,
            var_name_to_vocab_info={'fruit_weights': wsh.VocabInfo(new, 5, 0, old)},
        )

    @parameterized.named_parameters(*BACKENDS)
    def test_tf06_with_column_vocab(self, backend):
        d, old, new = self._fixture(['orange', 'apple', 'banana'], layer=True)
        self.assertWarmStartSameAsTf(
            lambda: {'fruit_output_layer': _var('fruit_output_layer', [4, 3])},
            d,
            {'fruit_output_layer': FRUIT_LAYER_REMAPPED},
            backend,
            var_name_to_vocab_info={'fruit_output_layer': wsh.VocabInfo(new, 3, 0, old, axis=1)},
        )

    @parameterized.named_parameters(*BACKENDS)
    def test_tf07_constrained_old_vocab_size(self, backend):
        d, old, new = self._fixture()
        self.assertWarmStartSameAsTf(
            lambda: {'fruit_weights': _var('fruit_weights', [5, 1])},
            d,
            {'fruit_weights': [[0], [0], [1], [0.5], [0]]},
            backend,
            var_name_to_vocab_info={
                'fruit_weights': wsh.VocabInfo(new, 5, 0, old, old_vocab_size=2)
            },
        )

    @parameterized.named_parameters(*BACKENDS)
    def test_tf08_prev_var_partitioned(self, backend):
        d, old, new = self._fixture(old_partitioner=_rows_partitioner(2))
        self.assertWarmStartSameAsTf(
            lambda: {'fruit_weights': _var('fruit_weights', [5, 1])},
            d,
            {'fruit_weights': [[2], [1.5], [1], [0.5], [0]]},
            backend,
            var_name_to_vocab_info={'fruit_weights': wsh.VocabInfo(new, 5, 0, old)},
        )

    @parameterized.named_parameters(*BACKENDS)
    def test_tf09_column_vocab_prev_var_partitioned(self, backend):
        d, old, new = self._fixture(
            ['orange', 'apple', 'banana'], layer=True, old_partitioner=_rows_partitioner(2)
        )
        self.assertWarmStartSameAsTf(
            lambda: {'fruit_output_layer': _var('fruit_output_layer', [4, 3])},
            d,
            {'fruit_output_layer': FRUIT_LAYER_REMAPPED},
            backend,
            var_name_to_vocab_info={'fruit_output_layer': wsh.VocabInfo(new, 3, 0, old, axis=1)},
        )

    @parameterized.named_parameters(*BACKENDS)
    def test_tf10_current_var_partitioned(self, backend):
        d, old, new = self._fixture()
        self.assertWarmStartSameAsTf(
            lambda: {'fruit_weights': _var('fruit_weights', [6, 1], None, _rows_partitioner(2))},
            d,
            {'fruit_weights': Parts([[2], [1.5], [1]], [[0.5], [0], [0]])},
            backend,
            var_name_to_vocab_info={'fruit_weights': wsh.VocabInfo(new, 5, 1, old)},
        )

    @parameterized.named_parameters(*BACKENDS)
    def test_tf11_column_vocab_current_var_partitioned(self, backend):
        d, old, new = self._fixture(['orange', 'apple', 'banana'], layer=True)

        def build():
            return {'layer': _var('fruit_output_layer', [4, 3], None, _rows_partitioner(2))}

        self.assertWarmStartSameAsTf(
            build,
            d,
            {'layer': Parts(FRUIT_LAYER_REMAPPED[:2], FRUIT_LAYER_REMAPPED[2:])},
            backend,
            var_name_to_vocab_info={'fruit_output_layer': wsh.VocabInfo(new, 3, 0, old, axis=1)},
        )

    @parameterized.named_parameters(*BACKENDS)
    def test_tf12_both_vars_partitioned(self, backend):
        d, old, new = self._fixture(
            NEW_FRUITS + ['blueberry'], old_partitioner=_rows_partitioner(2)
        )
        self.assertWarmStartSameAsTf(
            lambda: {'fruit_weights': _var('fruit_weights', [6, 1], None, _rows_partitioner(2))},
            d,
            {'fruit_weights': Parts([[2], [1.5], [1]], [[0.5], [0], [0]])},
            backend,
            var_name_to_vocab_info={'fruit_weights': wsh.VocabInfo(new, 6, 0, old)},
        )

    @parameterized.named_parameters(*BACKENDS)
    def test_tf13_column_vocab_both_vars_partitioned(self, backend):
        d, old, new = self._fixture(
            ['orange', 'apple', 'banana'], layer=True, old_partitioner=_rows_partitioner(2)
        )

        def build():
            return {'layer': _var('fruit_output_layer', [4, 3], None, _rows_partitioner(2))}

        self.assertWarmStartSameAsTf(
            build,
            d,
            {'layer': Parts(FRUIT_LAYER_REMAPPED[:2], FRUIT_LAYER_REMAPPED[2:])},
            backend,
            var_name_to_vocab_info={'fruit_output_layer': wsh.VocabInfo(new, 3, 0, old, axis=1)},
        )


class WarmStartSelectionTest(_DiffTestCase):
    """Scenarios 14-17, 30, 31: selection, renames, errors, object checkpoints."""

    def _ones(self, names, shape=(10, 1)):
        return save_checkpoint(
            self.create_tempdir().full_path, {n: np.ones(shape, np.float32) for n in names}
        )

    def test_tf14_list_of_variables(self):
        ckpt = self._ones(['v1'])
        self.assertWarmStartSameAsTf(
            lambda: {'v1': _var('v1', [10, 1])},
            ckpt,
            {'v1': np.ones([10, 1])},
            vars_to_warm_start=lambda vs: [vs['v1']],
        )

    def test_tf15_list_of_strings(self):
        ckpt = self._ones(['v1'])
        self.assertWarmStartSameAsTf(
            lambda: {'v1': _var('v1', [10, 1])},
            ckpt,
            {'v1': np.ones([10, 1])},
            vars_to_warm_start=['v1'],
        )

    def test_tf16_two_vars_from_the_same_prev_var(self):
        ckpt = self._ones(['v1'])
        self.assertWarmStartSameAsTf(
            lambda: {'v1': _var('v1', [10, 1]), 'v2': _var('v2', [10, 1])},
            ckpt,
            {'v1': np.ones([10, 1]), 'v2': np.ones([10, 1])},
            vars_to_warm_start=['v1', 'v2'],
            var_name_to_prev_var_name={'v2': 'v1'},
        )

    def test_tf17_list_of_regexes(self):
        names = ['v1', 'v1/Momentum', 'v2', 'v2/Momentum']
        ckpt = self._ones(names)
        self.assertWarmStartSameAsTf(
            lambda: {n: _var(n, [10, 1]) for n in names},
            ckpt,
            {
                'v1': np.ones([10, 1]),
                'v1/Momentum': np.ones([10, 1]),
                'v2': np.ones([10, 1]),
                'v2/Momentum': np.zeros([10, 1]),
            },
            vars_to_warm_start=['v1', 'v2[^/]'],
        )

    def test_regex_string_selects_trainable_only(self):
        # A single regex string searches trainable variables (TF's rule).
        ckpt = self._ones(['a/w', 'a/n'])

        def build():
            return {'w': _var('a/w', [10, 1]), 'n': _var('a/n', [10, 1], trainable=False)}

        self.assertWarmStartSameAsTf(
            build, ckpt, {'w': np.ones([10, 1]), 'n': np.zeros([10, 1])}, vars_to_warm_start='a/'
        )

    def test_rename_with_prev_var_name(self):
        ckpt = save_checkpoint(self.create_tempdir().full_path, {'old/w': FRUITS})
        self.assertWarmStartSameAsTf(
            lambda: {'w': _var('new/w', [4, 1], None, _rows_partitioner(2))},
            ckpt,
            {'w': Parts(FRUITS[:2], FRUITS[2:])},
            var_name_to_prev_var_name={'new/w': 'old/w'},
        )

    def test_tf30a_partitioned_variable_in_list(self):
        # TensorFlow rejects a list holding a PartitionedVariable; ours takes it
        # like its parts, which TensorFlow accepts.
        ckpt = save_checkpoint(self.create_tempdir().full_path, {'x': np.ones([4, 1])})

        def build():
            return {'x': _var('x', [4, 1], None, _rows_partitioner(2))}

        with tf.Graph().as_default():
            x = build()['x']
            with self.assertRaisesRegex(ValueError, 'must be all `Variable` or all `str`'):
                v1.train.warm_start(ckpt, vars_to_warm_start=[x])
        want = run_graph(build, lambda vs: v1.train.warm_start(ckpt, _parts(vs['x'])))
        got = run_graph(build, lambda vs: wsh.warm_start(ckpt, [vs['x']]))
        self.assertValues(got, {'x': Parts(*want['x'])})
        self.assertValues(got, {'x': np.ones([4, 1])})

    def test_tf30b_unused_vocab_info(self):
        d = self.create_tempdir().full_path
        save_checkpoint(d, {'x': np.ones([4, 1])}, _rows_partitioner(2))
        vocab = write_vocab(d, 'vocab', ['a'])
        info = wsh.VocabInfo(vocab, 1, 0, vocab)
        self.assertBothRaise(
            lambda: {'x': _var('x', [4, 1], None, _rows_partitioner(2))},
            lambda vs: v1.train.warm_start(d, var_name_to_vocab_info={'y': tf_vocab_info(info)}),
            lambda vs: wsh.warm_start(d, var_name_to_vocab_info={'y': info}),
            ValueError,
            'var_name_to_vocab_info that were not used',
            r"var_name_to_vocab_info has 'y', which names no selected variable",
        )

    def test_tf30c_unused_prev_var_name(self):
        d = self.create_tempdir().full_path
        save_checkpoint(d, {'x': np.ones([4, 1])}, _rows_partitioner(2))
        self.assertBothRaise(
            lambda: {'x': _var('x', [4, 1], None, _rows_partitioner(2))},
            lambda vs: v1.train.warm_start(d, var_name_to_prev_var_name={'y': 'y2'}),
            lambda vs: wsh.warm_start(d, var_name_to_prev_var_name={'y': 'y2'}),
            ValueError,
            'var_name_to_prev_var_name that were not used',
            r"var_name_to_prev_var_name has 'y', which names no selected variable",
        )

    def test_missing_tensor_changes_nothing(self):
        # TensorFlow applies `a` before failing on `b`; we apply nothing.
        d = save_checkpoint(self.create_tempdir().full_path, {'a': np.ones([2, 1])})
        self.assertBothRaise(
            lambda: {'a': _var('a', [2, 1]), 'b': _var('b', [2, 1])},
            lambda vs: v1.train.warm_start(d),
            lambda vs: wsh.warm_start(d),
            ValueError,
            'Tensor b is not found',
            r"variable 'b': tensor 'b' is not in checkpoint",
        )

    @parameterized.named_parameters(('plain', None), ('partitioned', _rows_partitioner(2)))
    def test_tf31_object_based_checkpoint(self, partitioner):
        d = self.create_tempdir().full_path
        save_object_checkpoint(d, v=tf.Variable(FRUITS, name='fruit_weights'))
        self.assertWarmStartSameAsTf(
            lambda: {'fruit_weights': _var('fruit_weights', [4, 1], None, partitioner)},
            d,
            {'fruit_weights': FRUITS},
        )

    def test_object_based_module(self):
        d = self.create_tempdir().full_path
        kernel = np.arange(6, dtype=np.float32).reshape(3, 2)
        module = tf.Module()
        module.dense = tf.Module()
        module.dense.kernel = tf.Variable(kernel, name='dense/kernel')
        module.bias = tf.Variable([1.0, 2.0], name='bias')
        save_object_checkpoint(d, model=module)

        def build():
            return {
                'kernel': _var('dense/kernel', [3, 2], None, _rows_partitioner(3)),
                'bias': _var('bias', [2]),
            }

        self.assertWarmStartSameAsTf(build, d, {'kernel': kernel, 'bias': [1.0, 2.0]})

    def test_object_based_missing_variable(self):
        # TensorFlow raises when the object graph lacks a variable; so do we by
        # default. on_missing='skip' warm-starts the rest (numpy oracle).
        d = self.create_tempdir().full_path
        save_object_checkpoint(d, v=tf.Variable(FRUITS, name='a'))

        def build():
            return {'a': _var('a', [4, 1]), 'b': _var('b', [2, 1], v1.ones_initializer())}

        self.assertBothRaise(
            build,
            lambda vs: v1.train.warm_start(d),
            lambda vs: wsh.warm_start(d),
            ValueError,
            'did not contain values for all variables',
            r"variable 'b': tensor 'b' is not in checkpoint",
        )
        got = run_graph(build, lambda vs: wsh.warm_start(d, on_missing='skip'))
        self.assertValues(got, {'a': FRUITS, 'b': np.ones([2, 1])})


class WarmStartColumnsTest(_DiffTestCase):
    """Scenarios 18-29: the variables of feature-column models."""

    def _check(self, name, shape, value, ckpt_path=None, **args):
        d = self.create_tempdir().full_path
        save_checkpoint(d, {name: value})

        def build():
            return {name: _var(name, shape, None, _one_part)}

        self.assertValues(run_graph(build), {name: np.zeros(shape)})
        self.assertWarmStartSameAsTf(build, ckpt_path or d, {name: value}, **args)

    def test_tf18_sparse_column_integerized(self):
        self._check(
            'linear_model/sc_int/weights',
            [10, 1],
            np.ones([10, 1], np.float32),
            vars_to_warm_start='.*sc_int.*',
        )

    def test_tf19_sparse_column_hashed(self):
        value = np.random.default_rng(1).normal(size=[15, 1]).astype(np.float32)
        self._check(
            'linear_model/sc_hash/weights', [15, 1], value, vars_to_warm_start='.*sc_hash.*'
        )

    def test_tf20_sparse_column_vocabulary(self):
        self._check(
            'linear_model/sc_vocab/weights',
            [4, 1],
            np.ones([4, 1], np.float32),
            vars_to_warm_start='.*sc_vocab.*',
        )

    def test_tf21_explicit_checkpoint_file(self):
        d = self.create_tempdir().full_path
        name = 'linear_model/sc_vocab/weights'
        save_checkpoint(d, {name: np.ones([4, 1], np.float32)})
        self.assertWarmStartSameAsTf(
            lambda: {name: _var(name, [4, 1], None, _one_part)},
            os.path.join(d, 'model-0'),
            {name: np.ones([4, 1])},
            vars_to_warm_start='.*sc_vocab.*',
        )

    @parameterized.named_parameters(*BACKENDS)
    def test_tf22_constrained_vocab_sizes(self, backend):
        d = self.create_tempdir().full_path
        name = 'linear_model/sc_vocab/weights'
        old = write_vocab(d, 'old', ['apple', 'guava', 'banana'])
        new = write_vocab(d, 'new', ['apple', 'banana', 'guava', 'orange'])
        save_checkpoint(d, {name: np.ones([2, 1], np.float32)})
        self.assertWarmStartSameAsTf(
            lambda: {name: _var(name, [2, 1], None, _one_part)},
            d,
            {name: [[1], [0]]},
            backend,
            vars_to_warm_start='.*sc_vocab.*',
            var_name_to_vocab_info={name: wsh.VocabInfo(new, 2, 0, old, old_vocab_size=2)},
        )

    def test_tf23_bucketized_column(self):
        value = np.random.default_rng(2).normal(size=[5, 1]).astype(np.float32)
        self._check(
            'linear_model/real_bucketized/weights',
            [5, 1],
            value,
            vars_to_warm_start='.*real_bucketized.*',
        )

    @parameterized.named_parameters(*BACKENDS)
    def test_tf24_multiple_cols(self, backend):
        d = self.create_tempdir().full_path
        rng = np.random.default_rng(3)
        values = {
            'linear_model/sc_int/weights': np.ones([10, 1], np.float32),
            'linear_model/sc_hash/weights': rng.normal(size=[15, 1]).astype(np.float32),
            'linear_model/sc_keys/weights': rng.uniform(size=[4, 1]).astype(np.float32),
            'linear_model/sc_vocab/weights': np.ones([4, 1], np.float32),
            'linear_model/real_bucketized/weights': rng.normal(size=[5, 1]).astype(np.float32),
            'linear_model/sc_keys_X_sc_vocab/weights': rng.uniform(size=[20, 1]).astype(np.float32),
            'linear_model/bias_weights': rng.uniform(size=[1]).astype(np.float32),
        }
        save_checkpoint(d, values)
        vocab = write_vocab(d, 'vocab', OLD_FRUITS)

        def build():
            return {n: _var(n, v.shape, None, _one_part) for n, v in values.items()}

        self.assertValues(run_graph(build), {n: np.zeros(v.shape) for n, v in values.items()})
        self.assertWarmStartSameAsTf(
            build,
            d,
            values,
            backend,
            var_name_to_vocab_info={
                'linear_model/sc_vocab/weights': wsh.VocabInfo(vocab, 4, 0, vocab)
            },
        )

    def _more_settings(self, partitioner, **args):
        d = self.create_tempdir().full_path
        rng = np.random.default_rng(4)
        prev_keys = rng.uniform(size=[4, 1]).astype(np.float32)
        save_checkpoint(
            d,
            {
                'linear_model/sc_hash/weights': rng.normal(size=[15, 1]).astype(np.float32),
                'some_other_name': prev_keys,
                'linear_model/sc_vocab/weights': np.array([[0.5], [1], [2], [3]], np.float32),
            },
        )
        old = write_vocab(d, 'old', OLD_FRUITS)
        new = write_vocab(d, 'new', NEW_FRUITS + ['blueberry'])

        def build():
            return {
                'sc_hash': _var('linear_model/sc_hash/weights', [15, 1], None, partitioner),
                'sc_keys': _var('linear_model/sc_keys/weights', [4, 1], None, partitioner),
                'sc_vocab': _var('linear_model/sc_vocab/weights', [6, 1], None, partitioner),
                'bias': _var('linear_model/bias_weights', [1], None, partitioner),
            }

        settings = dict(
            var_name_to_vocab_info={'linear_model/sc_vocab/weights': wsh.VocabInfo(new, 6, 0, old)},
            var_name_to_prev_var_name={'linear_model/sc_keys/weights': 'some_other_name'},
        )
        settings.update(args)
        return d, build, prev_keys, settings

    @parameterized.named_parameters(*BACKENDS)
    def test_tf25_more_settings(self, backend):
        d, build, prev_keys, settings = self._more_settings(
            _min2, vars_to_warm_start='.*(sc_keys|sc_vocab).*'
        )
        self.assertWarmStartSameAsTf(
            build,
            d,
            {
                'sc_keys': Parts(*np.split(prev_keys, 2)),
                'sc_hash': Parts(np.zeros([8, 1]), np.zeros([7, 1])),
                'sc_vocab': Parts([[3], [2], [1]], [[0.5], [0], [0]]),
                'bias': Parts(np.zeros([1])),
            },
            backend,
            **settings,
        )

    @parameterized.named_parameters(*BACKENDS)
    def test_tf26_more_settings_no_partitioning(self, backend):
        d, build, prev_keys, settings = self._more_settings(
            None, vars_to_warm_start='.*(sc_keys|sc_vocab).*'
        )
        self.assertWarmStartSameAsTf(
            build,
            d,
            {
                'sc_keys': Parts(prev_keys),
                'sc_hash': Parts(np.zeros([15, 1])),
                'sc_vocab': Parts([[3], [2], [1], [0.5], [0], [0]]),
            },
            backend,
            **settings,
        )

    @parameterized.named_parameters(*BACKENDS)
    def test_tf27_vars_to_warm_start_is_none(self, backend):
        d, build, _, settings = self._more_settings(_min2, vars_to_warm_start=None)
        self.assertWarmStartSameAsTf(
            build,
            d,
            {
                'sc_keys': Parts(np.zeros([2, 1]), np.zeros([2, 1])),
                'sc_hash': Parts(np.zeros([8, 1]), np.zeros([7, 1])),
                'sc_vocab': Parts([[3], [2], [1]], [[0.5], [0], [0]]),
            },
            backend,
            **settings,
        )

    def _embedding(self, backend, linear):
        d = self.create_tempdir().full_path
        scope = 'linear_model' if linear else 'input_layer'
        emb_name = f'{scope}/sc_vocab_embedding/embedding_weights'
        emb = np.array([[0.5, 0.4], [1, 1.1], [2, 2.2], [3, 3.3]], np.float32)
        tensors = {emb_name: emb}
        if linear:
            tensors['linear_model/sc_vocab_embedding/weights'] = np.array([[0.69], [0.71]])
        save_checkpoint(d, {k: np.asarray(v, np.float32) for k, v in tensors.items()})
        old = write_vocab(d, 'old', OLD_FRUITS)
        new = write_vocab(d, 'new', NEW_FRUITS + ['blueberry'])
        info = wsh.VocabInfo(
            new, 6, 0, old, backup_initializer=v1.random_uniform_initializer(0.42, 0.42)
        )

        def build():
            out = {'emb': _var(emb_name, [6, 2], None, _min2)}
            if linear:
                out['weights'] = _var(
                    'linear_model/sc_vocab_embedding/weights', [2, 1], None, _min2
                )
                out['bias'] = _var('linear_model/bias_weights', [1], None, _min2)
            return out

        expected = {
            'emb': Parts(
                [[3, 3.3], [2, 2.2], [1, 1.1]],
                [[0.5, 0.4], [0.42, 0.42], [0.42, 0.42]],
            )
        }
        if linear:
            expected.update(weights=Parts([[0.69]], [[0.71]]), bias=Parts([0.0]))
        args = {'var_name_to_vocab_info': {emb_name: info}}
        if linear:
            args['vars_to_warm_start'] = '.*sc_vocab.*'
        self.assertWarmStartSameAsTf(build, d, expected, backend, **args)

    @parameterized.named_parameters(*BACKENDS)
    def test_tf28_embedding_column(self, backend):
        self._embedding(backend, linear=False)

    @parameterized.named_parameters(*BACKENDS)
    def test_tf29_embedding_column_linear_model(self, backend):
        self._embedding(backend, linear=True)


class WarmStartPartitionsTest(_DiffTestCase):
    """Partitioned variables: 1, 2 or 3 parts on the old and the new side."""

    @parameterized.named_parameters(*[(f'old{o}_new{n}', o, n) for o, n in PART_COMBOS])
    def test_copy(self, old_parts, new_parts):
        value = np.arange(12, dtype=np.float32).reshape(6, 2)
        d = save_checkpoint(
            self.create_tempdir().full_path, {'w': value}, _rows_partitioner(old_parts)
        )
        got = self.assertWarmStartSameAsTf(
            lambda: {'w': _var('w', [6, 2], None, _rows_partitioner(new_parts))}, d, {'w': value}
        )
        self.assertLen(got['w'], new_parts)

    @parameterized.named_parameters(
        *[
            (f'axis{a}_old{o}_new{n}_{b}', a, o, n, b)
            for a in (0, 1)
            for o, n in PART_COMBOS
            for b, _ in BACKENDS
        ]
    )
    def test_remap_with_oov_and_backup(self, axis, old_parts, new_parts, backend):
        d = self.create_tempdir().full_path
        old_tokens = ['a', 'b', 'c', 'd']
        new_tokens = ['d', 'x', 'b', 'a', 'y']
        old = write_vocab(d, 'old', old_tokens)
        new = write_vocab(d, 'new', new_tokens)
        # Axis 0: rows are the vocabulary; axis 1: columns are, rows are partitioned.
        old_shape, new_shape = ([4, 2], [6, 2]) if axis == 0 else ([6, 4], [6, 6])
        value = np.arange(np.prod(old_shape), dtype=np.float32).reshape(old_shape) + 1
        save_checkpoint(d, {'w': value}, _rows_partitioner(old_parts))
        expected = remap_oracle(value, new_tokens, 5, old_tokens, oov=1, axis=axis, fill=1.0)
        info = wsh.VocabInfo(new, 5, 1, old, backup_initializer=v1.ones_initializer(), axis=axis)
        got = self.assertWarmStartSameAsTf(
            lambda: {'w': _var('w', new_shape, None, _rows_partitioner(new_parts))},
            d,
            {'w': expected},
            backend,
            var_name_to_vocab_info={'w': info},
        )
        self.assertLen(got['w'], new_parts)

    @parameterized.named_parameters(('name', False), ('object', True))
    def test_one_partition_in_assignment_map(self, as_object):
        # '<var>/part_<n>', or the part itself, is a variable of its own: it takes
        # a whole tensor of its shape.
        d = save_checkpoint(
            self.create_tempdir().full_path, {'small': [[7.0], [8.0]], 'full': FRUITS}
        )

        def build():
            return {'p': _var('p', [4, 1], None, _rows_partitioner(2))}

        def mapping(key):
            return lambda vs: {key: _parts(vs['p'])[1] if as_object else 'p/part_1'}

        self.assertInitSameAsTf(build, d, mapping('small'), {'p': Parts([[0], [0]], [[7], [8]])})
        self.assertBothRaise(
            build,
            lambda vs: v1.train.init_from_checkpoint(d, mapping('full')(vs)),
            lambda vs: wsh.init_from_checkpoint(d, mapping('full')(vs)),
            ValueError,
            "doesn't match with shape of tensor full",
            r"'p/part_1' has shape \[2, 1\] but checkpoint tensor 'full' has shape \[4, 1\]",
        )


class BackupInitializerTest(_DiffTestCase):
    """Ours calls the backup initializer with the variable's full shape."""

    def _fixture(self):
        d = self.create_tempdir().full_path
        old = write_vocab(d, 'old', ['a', 'b', 'c', 'd'])
        new = write_vocab(d, 'new', ['d', 'x', 'b', 'y', 'z', 'q'])
        value = np.arange(16, dtype=np.float32).reshape(4, 4) + 1
        save_checkpoint(d, {'e': value})
        present = remap_oracle(value, ['d', 'x', 'b', 'y', 'z', 'q'], 6, ['a', 'b', 'c', 'd'])
        missing = np.array([False, True, False, True, True, True])
        return d, old, new, present, missing

    def _check_glorot(self, got, present, missing):
        limit = np.sqrt(6.0 / (6 + 4))  # glorot_uniform of the FULL [6, 4] shape.
        np.testing.assert_array_equal(got[~missing], present[~missing])
        drawn = got[missing]
        self.assertTrue(np.all(np.abs(drawn) <= limit), drawn)
        self.assertGreater(len(np.unique(drawn)), 1)

    @parameterized.named_parameters(*BACKENDS)
    def test_glorot_graph_partitioned(self, backend):
        d, old, new, present, missing = self._fixture()

        def build():
            return {'e': _var('e', [6, 4], None, _rows_partitioner(2))}

        def info():
            return wsh.VocabInfo(new, 6, 0, old, backup_initializer=v1.glorot_uniform_initializer())

        with tf.Graph().as_default():
            build()
            # TensorFlow fails here: it calls the initializer with a symbolic [n, 1] shape.
            with self.assertRaises(TypeError):
                v1.train.warm_start(d, var_name_to_vocab_info={'e': tf_vocab_info(info())})
        got = run_graph(
            build,
            lambda vs: wsh.warm_start(
                d, var_name_to_vocab_info={'e': info()}, remap_backend=backend
            ),
        )
        self._check_glorot(np.concatenate(got['e']), present, missing)

    @parameterized.named_parameters(*BACKENDS)
    def test_glorot_eager(self, backend):
        d, old, new, present, missing = self._fixture()
        e = tf.Variable(tf.zeros([6, 4]), name='e')
        info = wsh.VocabInfo(
            new, 6, 0, old, backup_initializer=tf.keras.initializers.GlorotUniform()
        )
        report = wsh.warm_start(
            d, var_name_to_vocab_info={'e': info}, variables=[e], remap_backend=backend
        )
        self.assertEqual(report.entry('e').action, 'remap')
        self._check_glorot(e.numpy(), present, missing)


class VocabAxis1OldVocabSizeTest(_DiffTestCase):
    """TensorFlow ignores `old_vocab_size` on axis 1; ours honours it."""

    @parameterized.named_parameters(*BACKENDS)
    def test_axis1_old_vocab_size(self, backend):
        d = self.create_tempdir().full_path
        old_tokens, new_tokens = ['apple', 'orange'], ['orange', 'apple', 'banana']
        old = write_vocab(d, 'old', old_tokens)
        new = write_vocab(d, 'new', new_tokens)
        save_checkpoint(d, {'layer': FRUIT_LAYER})
        info = wsh.VocabInfo(new, 3, 0, old, old_vocab_size=1, axis=1)

        def build():
            return {'layer': _var('layer', [4, 3])}

        want_tf = run_graph(
            build,
            lambda vs: v1.train.warm_start(
                d, var_name_to_vocab_info={'layer': tf_vocab_info(info)}
            ),
        )
        np.testing.assert_array_equal(want_tf['layer'][0], FRUIT_LAYER_REMAPPED)
        got = run_graph(
            build,
            lambda vs: wsh.warm_start(
                d, var_name_to_vocab_info={'layer': info}, remap_backend=backend
            ),
        )
        oracle = remap_oracle(FRUIT_LAYER, new_tokens, 3, old_tokens, old_size=1, axis=1)
        np.testing.assert_array_equal(got['layer'][0], oracle)
        np.testing.assert_array_equal(oracle[:, 0], 0)  # 'orange' is beyond old_vocab_size.


class EagerTest(parameterized.TestCase):
    """Eager mode: values are assigned at once (numpy oracle)."""

    @parameterized.named_parameters(*BACKENDS)
    def test_warm_start_tf_variables(self, backend):
        d = self.create_tempdir().full_path
        old = write_vocab(d, 'old', OLD_FRUITS)
        new = write_vocab(d, 'new', NEW_FRUITS)
        dense = np.arange(6, dtype=np.float32).reshape(3, 2)
        save_checkpoint(d, {'fruit_weights': FRUITS, 'old/dense': dense})
        fruit = tf.Variable(tf.zeros([6, 1]), name='fruit_weights')
        kernel = tf.Variable(tf.zeros([3, 2]), name='new/dense')
        report = wsh.warm_start(
            d,
            var_name_to_vocab_info={'fruit_weights': wsh.VocabInfo(new, 5, 1, old)},
            var_name_to_prev_var_name={'new/dense': 'old/dense'},
            variables=[fruit, kernel],
            remap_backend=backend,
        )
        self.assertEqual(report.mode, 'eager')
        np.testing.assert_array_equal(
            fruit.numpy(), remap_oracle(FRUITS, NEW_FRUITS, 5, OLD_FRUITS, oov=1)
        )
        np.testing.assert_array_equal(kernel.numpy(), dense)

    def test_eager_needs_variables(self):
        d = save_checkpoint(self.create_tempdir().full_path, {'w': FRUITS})
        with self.assertRaisesRegex(wsh.WarmStartError, 'Pass the model or its variables'):
            wsh.warm_start(d)

    def test_object_checkpoint_partial_selection(self):
        d = self.create_tempdir().full_path
        save_object_checkpoint(d, v=tf.Variable(FRUITS, name='a'))
        a = tf.Variable(tf.zeros([4, 1]), name='a')
        b = tf.Variable(tf.ones([2, 1]), name='b')
        with self.assertRaisesRegex(wsh.WarmStartError, "tensor 'b' is not in checkpoint"):
            wsh.warm_start(d, variables=[a, b])
        np.testing.assert_array_equal(a.numpy(), np.zeros([4, 1]))
        report = wsh.warm_start(d, variables=[a, b], on_missing='skip')
        np.testing.assert_array_equal(a.numpy(), FRUITS)
        np.testing.assert_array_equal(b.numpy(), np.ones([2, 1]))
        self.assertEqual(report.entry('b').action, 'skip')
        self.assertEqual(report.entry('a').source_key, 'v/.ATTRIBUTES/VARIABLE_VALUE')

    def test_init_from_checkpoint_tf_variables(self):
        # TF#22298: TensorFlow's init_from_checkpoint does not work in eager mode.
        values = _cu_values()
        d = save_checkpoint(self.create_tempdir().full_path, values)
        my1 = tf.Variable(tf.zeros([1, 10]), name='my1')
        my3 = tf.Variable(tf.zeros([100, 100]), name='my3')
        my3b = tf.Variable(tf.zeros([100, 100]), name='my3b')
        wsh.init_from_checkpoint(d, [('var1', my1), ('var3', my3), ('var3', my3b)])
        np.testing.assert_array_equal(my1.numpy(), values['var1'])
        np.testing.assert_array_equal(my3.numpy(), values['var3'])
        np.testing.assert_array_equal(my3b.numpy(), values['var3'])

    def test_init_from_checkpoint_names_and_root_scope(self):
        values = _cu_values()
        d = save_checkpoint(self.create_tempdir().full_path, values)
        variables = {
            f'some_scope/{n}': tf.Variable(tf.zeros(v.shape), name=f'some_scope/{n}')
            for n, v in values.items()
        }
        wsh.init_from_checkpoint(d, {'/': 'some_scope/'}, variables=variables)
        for n, v in values.items():
            np.testing.assert_array_equal(variables[f'some_scope/{n}'].numpy(), v)

    @absltest.skipUnless(_keras3(), 'Keras 3 (keras.Variable, .path) is not installed')
    def test_keras3_variables(self):
        keras = _keras3()
        d = self.create_tempdir().full_path
        old = write_vocab(d, 'old', OLD_FRUITS)
        new = write_vocab(d, 'new', NEW_FRUITS)
        kernel = np.arange(8, dtype=np.float32).reshape(4, 2)
        save_checkpoint(
            d, {'emb/embeddings': FRUITS, 'dense/kernel': kernel, 'old_bias': [1.0, 2.0]}
        )
        emb = keras.layers.Embedding(5, 1, name='emb')
        emb.build((None,))
        dense = keras.layers.Dense(2, name='dense')
        dense.build((None, 4))
        self.assertEqual(dense.kernel.path, 'dense/kernel')
        report = wsh.warm_start(
            d,
            var_name_to_vocab_info={'emb/embeddings': wsh.VocabInfo(new, 5, 0, old)},
            var_name_to_prev_var_name={'dense/bias': 'old_bias'},
            variables=[*emb.weights, *dense.weights],
        )
        self.assertEqual(sorted(report.names()), ['dense/bias', 'dense/kernel', 'emb/embeddings'])
        np.testing.assert_array_equal(
            np.asarray(emb.embeddings), remap_oracle(FRUITS, NEW_FRUITS, 5, OLD_FRUITS)
        )
        np.testing.assert_array_equal(np.asarray(dense.kernel), kernel)
        np.testing.assert_array_equal(np.asarray(dense.bias), [1, 2])

    @absltest.skipUnless(_keras3(), 'Keras 3 (keras.Variable, .path) is not installed')
    def test_keras3_init_from_checkpoint(self):
        keras = _keras3()
        values = _cu_values()
        d = save_checkpoint(self.create_tempdir().full_path, values)
        a = keras.Variable(np.zeros([1, 10], np.float32), name='a')
        b = keras.Variable(np.zeros([1, 10], np.float32), name='b')
        wsh.init_from_checkpoint(d, [('var1', a), ('var1', b)])
        np.testing.assert_array_equal(np.asarray(a), values['var1'])
        np.testing.assert_array_equal(np.asarray(b), values['var1'])


class InitFromCheckpointTest(_DiffTestCase):
    """Scenarios 37-45 of `checkpoint_utils_test.py`."""

    def setUp(self):
        super().setUp()
        self.values = _cu_values()
        self.ckpt = save_checkpoint(self.create_tempdir().full_path, self.values)

    def test_tf37_init_from_checkpoint(self):
        v = self.values

        def build():
            return {
                'my1': _var('some_scope/my1', [1, 10]),
                'my2': _var('some_scope/some_other_scope/my2', [10, 10]),
                'my4': _var('some_scope/some_other_scope/other_useful_scope/var4', [9, 9]),
                'my3': _var('my3', [100, 100]),
                'my3b': _var('my3b', [100, 100]),
            }

        def warm(init):
            def fn(vs):
                init(
                    self.ckpt,
                    {
                        'var1': 'some_scope/my1',
                        'useful_scope/': 'some_scope/some_other_scope/other_useful_scope/',
                    },
                )
                init(
                    self.ckpt,
                    [
                        ('var2', 'some_scope/some_other_scope/my2'),
                        ('var3', vs['my3']),
                        ('var3', vs['my3b']),
                    ],
                )
                self.assertLess(len(str(v1.get_default_graph().as_graph_def())), 32000)

            return fn

        self.assertSameAsTf(
            build,
            warm(v1.train.init_from_checkpoint),
            warm(wsh.init_from_checkpoint),
            {
                'my1': v['var1'],
                'my2': v['var2'],
                'my3': v['var3'],
                'my3b': v['var3'],
                'my4': v['useful_scope/var4'],
            },
        )

    def test_tf38_initial_value_comes_from_checkpoint(self):
        for init in (v1.train.init_from_checkpoint, wsh.init_from_checkpoint):
            with tf.Graph().as_default():
                # Only ref variables implement initialized_value().
                my1 = _var('some_scope/my1', [1, 10], use_resource=False)
                before = my1.initial_value, my1.initialized_value()
                init(self.ckpt, {'var1': my1})
                after = my1.initial_value, my1.initialized_value()
                with v1.Session() as sess:
                    # Control flow v2 cannot run initialized_value() before the init.
                    np.testing.assert_array_equal(sess.run(before[0]), np.zeros([1, 10]))
                    np.testing.assert_array_equal(sess.run(after[0]), self.values['var1'])
                    sess.run(v1.global_variables_initializer())
                    for t in (my1, my1.initialized_value(), before[1], *after):
                        np.testing.assert_array_equal(sess.run(t), self.values['var1'])

    def test_tf39_scope_does_not_capture_suffixes(self):
        def build():
            return {
                'var4': _var('useful_scope/var4', [9, 9]),
                'var5': _var(
                    'useful_scope_1/var5', [2, 2], v1.constant_initializer([[1, 2], [3, 4]])
                ),
            }

        self.assertInitSameAsTf(
            build,
            self.ckpt,
            {'useful_scope/': 'useful_scope/'},
            {'var4': self.values['useful_scope/var4'], 'var5': [[1, 2], [3, 4]]},
        )

    def test_tf40_restore_runs_on_same_device(self):
        # TensorFlow reads the tensor on the CPU of the variable's host; so do we.
        def restore_op(variable):
            ops = [variable.initializer]
            while ops:
                op = ops.pop()
                if op.type == 'RestoreV2':
                    return op
                ops += [t.op for t in op.inputs]
            return None

        placed = {}
        for init in (v1.train.init_from_checkpoint, wsh.init_from_checkpoint):
            with tf.Graph().as_default():
                with tf.device('/job:ps'):
                    var4 = _var('useful_scope/var4', [9, 9])
                with tf.device('/job:ps/task:1'):
                    var1 = _var('var1', [1, 10])
                init(self.ckpt, {'useful_scope/': 'useful_scope/', 'var1': var1})
                placed[init] = {v.op.name: (restore_op(v).device, v.device) for v in (var4, var1)}
                self.assertEqual(restore_op(var4).name, 'checkpoint_initializer')
        self.assertEqual(placed[wsh.init_from_checkpoint], placed[v1.train.init_from_checkpoint])
        self.assertEqual(
            placed[wsh.init_from_checkpoint]['useful_scope/var4'],
            ('/job:ps/device:CPU:0', '/job:ps'),
        )

    def test_tf41_init_from_root_checkpoint(self):
        def build():
            return {n: _var(f'some_scope/{n}', v.shape) for n, v in self.values.items()}

        self.assertInitSameAsTf(build, self.ckpt, {'/': 'some_scope/'}, self.values)

    def test_tf42_init_to_root_checkpoint(self):
        def build():
            return {n: _var(n, v.shape) for n, v in self.values.items()}

        self.assertInitSameAsTf(build, self.ckpt, {'/': '/'}, self.values)

    def _partitioned_ckpt(self):
        value = np.random.default_rng(5).normal(0.5, size=[100, 100]).astype(np.float32)
        partitioner = v1.min_max_variable_partitioner(5, axis=0, min_slice_size=8 << 10)
        d = save_checkpoint(self.create_tempdir().full_path, {'scope/var1': value}, partitioner)
        return d, value, partitioner

    def test_tf43a_init_from_partition_var_by_name(self):
        d, value, partitioner = self._partitioned_ckpt()
        three = v1.min_max_variable_partitioner(5, axis=0, min_slice_size=16 << 10)

        def build():
            return {
                'my1': _var('some_scope/my1', [100, 100], None, partitioner),
                'my2': _var('some_other_scope/var1', [100, 100], None, three),
            }

        got = self.assertInitSameAsTf(
            build,
            d,
            {'scope/var1': 'some_scope/my1', 'scope/': 'some_other_scope/'},
            {'my1': Parts(*np.split(value, 5)), 'my2': value},
        )
        self.assertEqual([len(p) for p in got['my2']], [34, 33, 33])

    def test_tf43b_init_from_partition_var_list(self):
        d, value, partitioner = self._partitioned_ckpt()

        def build():
            init = v1.truncated_normal_initializer(0.5)
            return {'my1': _var('some_scope/my1', [100, 100], init, partitioner)}

        self.assertInitSameAsTf(
            build,
            d,
            lambda vs: {'scope/var1': _parts(vs['my1'])},
            {'my1': Parts(*np.split(value, 5))},
        )

    @parameterized.named_parameters(
        (
            'a_no_dir',
            'no_dir',
            {'var1': 'some_scope/my1'},
            tf.errors.OpError,
            'Failed to find any matching files',
            'No checkpoint found at',
        ),
        (
            'b_no_tensor',
            None,
            {'no_var': 'some_scope/my1'},
            ValueError,
            'Tensor no_var is not found',
            r"variable 'some_scope/my1': tensor 'no_var' is not in",
        ),
        (
            'c_no_variable',
            None,
            {'var3': 'some_scope/no_var'},
            ValueError,
            'Assignment map with scope only name',
            r"'some_scope/no_var', which names no variable",
        ),
        (
            'd_shape',
            None,
            {'var1': 'some_scope/my1'},
            ValueError,
            r"Shape of variable some_scope/my1.* doesn't match",
            r"'some_scope/my1' has shape \[10, 10\] but checkpoint tensor 'var1' has "
            r'shape \[1, 10\]',
        ),
        (
            'e_scope_missing',
            None,
            {'useful_scope/': 'some_scope/'},
            ValueError,
            r'Tensor useful_scope/my1 \(my1 in useful_scope/\) is not found',
            r"(?s)'useful_scope/my1', which is not in.*'useful_scope/my2', which is not in",
        ),
        (
            'f_scope_key',
            None,
            {'useful_scope': 'some_scope/'},
            ValueError,
            'Should be .scope/.: .other_scope/.',
            'A scope mapping must map a scope to a scope',
        ),
    )
    def test_tf44_init_from_checkpoint_missing(
        self, ckpt, assignment_map, tf_error, tf_regex, our_regex
    ):
        ckpt = os.path.join(self.ckpt, ckpt) if ckpt else self.ckpt

        def build():
            return {
                'my1': _var('some_scope/my1', [10, 10], v1.ones_initializer()),
                'my2': _var('some_scope/my2', [1, 10], dtype=tf.int64),
            }

        self.assertBothRaise(
            build,
            lambda vs: v1.train.init_from_checkpoint(ckpt, assignment_map),
            lambda vs: wsh.init_from_checkpoint(ckpt, assignment_map),
            tf_error,
            tf_regex,
            our_regex,
        )

    @parameterized.named_parameters(('graph', False), ('eager', True))
    def test_list_of_two_variables_is_refused_like_tensorflow(self, eager):
        # A list stands for the partitions of one variable. TensorFlow fails on two
        # unpartitioned variables; an earlier release silently dropped the second.
        with tf.Graph().as_default():
            a, b = _var('a', [1, 10]), _var('b', [1, 10])
            with self.assertRaisesRegex(AttributeError, '_save_slice_info|full_name'):
                v1.train.init_from_checkpoint(self.ckpt, {'var1': [a, b]})
        context = tf.Graph().as_default() if not eager else contextlib.nullcontext()
        with context:
            a = tf.Variable(np.zeros((1, 10), np.float32), name='a')
            b = tf.Variable(np.zeros((1, 10), np.float32), name='b')
            before = (a.initializer, b.initializer) if not eager else None
            with self.assertRaisesRegex(
                wsh.WarmStartError,
                r"maps 'var1' to a list of 2 variables \['a', 'b'\] that are not the "
                r"partitions of one variable.*\[\('var1', a\), \('var1', b\)\]",
            ):
                wsh.init_from_checkpoint(self.ckpt, {'var1': [a, b]})
            if eager:
                np.testing.assert_array_equal(a.numpy(), np.zeros((1, 10)))
                np.testing.assert_array_equal(b.numpy(), np.zeros((1, 10)))
            else:
                self.assertEqual((a.initializer, b.initializer), before)
        # Each mapped on its own, both take the tensor (as TensorFlow does for pairs).
        with tf.Graph().as_default():
            a, b = _var('a', [1, 10]), _var('b', [1, 10])
            wsh.init_from_checkpoint(self.ckpt, [('var1', a), ('var1', b)])
            with v1.Session() as sess:
                sess.run(v1.global_variables_initializer())
                for got in sess.run([a, b]):
                    np.testing.assert_array_equal(got, self.values['var1'])

    @parameterized.named_parameters(
        ('init_from_checkpoint', v1.train.init_from_checkpoint, wsh.init_from_checkpoint),
        (
            'warm_start',
            lambda ckpt, m: v1.train.warm_start(ckpt, _flat(m.values())),
            lambda ckpt, m: wsh.warm_start(ckpt, _flat(m.values())),
        ),
    )
    def test_tf45_no_additional_read_ops_for_resource_variables(self, theirs, ours):
        # TensorFlow's own check: under the caller's name scope, only checkpoint_initializer*
        # ops, assigns and identities (plain copies; TF's warm_start copies the same way).
        def extra_ops(init):
            with tf.Graph().as_default() as graph:
                my1 = tf.Variable(tf.zeros([1, 10]), name='var1')
                parts = _var('var3', [100, 100], partitioner=_min2)
                with tf.name_scope('init_from_checkpoint'):
                    init(self.ckpt, {'var1': my1, 'var3': _parts(parts)})
                with v1.Session() as sess:
                    sess.run(v1.global_variables_initializer())
                    np.testing.assert_array_equal(sess.run(my1), self.values['var1'])
                    np.testing.assert_array_equal(
                        np.concatenate(sess.run(_parts(parts))), self.values['var3']
                    )
                restores = [op.name for op in graph.get_operations() if op.type == 'RestoreV2']
                return restores, [
                    op.name
                    for op in graph.get_operations()
                    if op.name.startswith('init_from_checkpoint/')
                    and not op.name.startswith('init_from_checkpoint/checkpoint_initializer')
                    and op.type not in ('AssignVariableOp', 'Identity')
                ]

        tf_restores, tf_extra = extra_ops(theirs)
        our_restores, our_extra = extra_ops(ours)
        self.assertEqual(tf_extra, [])
        self.assertEqual(our_extra, [])
        # One RestoreV2 per variable part for TensorFlow; ours are batched per device, and
        # named the same way.
        pattern = r'init_from_checkpoint/checkpoint_initializer(_\d+)?'
        for name in tf_restores + our_restores:
            self.assertRegex(name, pattern)
        self.assertNotEmpty(our_restores)


class PlanTest(_DiffTestCase):
    """`plan` reports what `warm_start` would do and changes nothing."""

    def test_plan_is_a_dry_run(self):
        d = self.create_tempdir().full_path
        old = write_vocab(d, 'old', OLD_FRUITS)
        new = write_vocab(d, 'new', NEW_FRUITS + ['blueberry'])
        save_checkpoint(d, {'emb': FRUITS, 'prev_w': [[1.0, 2.0]], 'b': [3.0]})

        def build():
            return {
                'emb': _var('emb', [6, 1], None, _rows_partitioner(2)),
                'w': _var('w', [1, 2]),
                'b': _var('b', [1]),
            }

        settings = wsh.WarmStartSettings(
            d,
            var_name_to_vocab_info={'emb': wsh.VocabInfo(new, 6, 0, old)},
            var_name_to_prev_var_name={'w': 'prev_w'},
        )
        reports = []
        fresh = run_graph(build)
        got = run_graph(build, lambda vs: reports.append(wsh.plan(settings)))
        for name in fresh:
            np.testing.assert_array_equal(np.concatenate(got[name]), np.concatenate(fresh[name]))
        (report,) = reports
        self.assertFalse(report.applied)
        self.assertEqual(
            {(e.name, e.action, e.source_key) for e in report.entries},
            {('emb', 'remap', 'emb'), ('w', 'copy', 'prev_w'), ('b', 'copy', 'b')},
        )
        self.assertEqual(report.entry('emb').partitions, 2)
        self.assertEqual((report.entry('emb').vocab.moved, report.entry('emb').vocab.new), (4, 2))
        # The same settings applied give TensorFlow's values.
        self.assertSameAsTf(
            build,
            lambda vs: v1.train.warm_start(
                d,
                var_name_to_vocab_info={'emb': tf_vocab_info(settings.vocab_infos['emb'])},
                var_name_to_prev_var_name={'w': 'prev_w'},
            ),
            lambda vs: wsh.warm_start(settings),
            {'emb': Parts([[2], [1.5], [1]], [[0.5], [0], [0]]), 'w': [[1, 2]], 'b': [3]},
        )

    def test_plan_raises_like_warm_start(self):
        d = save_checkpoint(self.create_tempdir().full_path, {'a': [1.0]})
        with tf.Graph().as_default():
            _var('a', [1])
            _var('b', [1])
            with self.assertRaisesRegex(wsh.WarmStartError, "tensor 'b' is not in checkpoint"):
                wsh.plan(d)


class PoliciesTest(parameterized.TestCase):
    """Options TensorFlow lacks, in graph and eager mode, against numpy oracles."""

    OLD = {
        'tower/dense/kernel': np.arange(12, dtype=np.float32).reshape(4, 3) + 1,
        'tower/dense/bias': np.array([5.0, 6.0, 7.0], np.float32),
        'head/kernel': np.arange(6, dtype=np.float32).reshape(3, 2) + 100,
    }

    def setUp(self):
        super().setUp()
        self.dir = save_checkpoint(self.create_tempdir().full_path, self.OLD)

    def _run(self, mode, shapes, dtypes=None, **options):
        """Warm-starts variables of `shapes` (fresh value -1) and returns values and report."""
        dtypes = dtypes or {}
        fresh = {n: np.full(s, -1.0, np.float32) for n, s in shapes.items()}
        if mode == 'eager':
            variables = {
                n: tf.Variable(
                    fresh[n].astype(tf.as_dtype(dtypes.get(n, tf.float32)).as_numpy_dtype), name=n
                )
                for n in shapes
            }
            report = wsh.warm_start(self.dir, variables=variables, **options)
            return {n: np.asarray(v.numpy(), np.float32) for n, v in variables.items()}, report
        reports = []

        def build():
            return {
                n: _var(
                    n, shapes[n], v1.constant_initializer(-1.0), dtype=dtypes.get(n, tf.float32)
                )
                for n in shapes
            }

        values = run_graph(build, lambda _: reports.append(wsh.warm_start(self.dir, **options)))
        return {n: np.asarray(v[0], np.float32) for n, v in values.items()}, reports[0]

    @parameterized.named_parameters(('graph', 'graph'), ('eager', 'eager'))
    def test_shape_policy_skip_and_overlap(self, mode):
        values, report = self._run(
            mode,
            {'tower/dense/kernel': (3, 5), 'head/kernel': (5, 2)},
            shape_policy={'tower/.*': 'overlap', 'head/.*': 'skip'},
        )
        expected = np.full((3, 5), -1.0, np.float32)  # Fresh, but for the overlapping block.
        expected[:3, :3] = self.OLD['tower/dense/kernel'][:3, :3]
        np.testing.assert_array_equal(values['tower/dense/kernel'], expected)
        np.testing.assert_array_equal(values['head/kernel'], np.full((5, 2), -1.0))
        self.assertEqual(report.entry('tower/dense/kernel').action, 'overlap')
        skip = report.entry('head/kernel')
        self.assertEqual(skip.action, 'skip')
        self.assertIn('has shape [5, 2] but checkpoint tensor', skip.reason)

    @parameterized.named_parameters(
        ('graph_bfloat16', 'graph', tf.bfloat16),
        ('graph_float16', 'graph', tf.float16),
        ('eager_bfloat16', 'eager', tf.bfloat16),
        ('eager_float64', 'eager', tf.float64),
    )
    def test_dtype_policy_cast(self, mode, dtype):
        name = 'tower/dense/bias'
        values, report = self._run(mode, {name: (3,)}, {name: dtype}, dtype_policy='cast')
        expected = self.OLD[name].astype(dtype.as_numpy_dtype).astype(np.float32)
        np.testing.assert_array_equal(values[name], expected)
        entry = report.entry(name)
        self.assertTrue(entry.cast)
        self.assertEqual((entry.source_dtype, entry.dtype), ('float32', dtype.name))

    @parameterized.named_parameters(('graph', 'graph'), ('eager', 'eager'))
    def test_rules_rename_with_backreferences_and_ignore(self, mode):
        values, report = self._run(
            mode,
            {'new_tower/dense/kernel': (4, 3), 'new_tower/dense/bias': (3,)},
            rules=[(r'new_tower/.*/bias', None), (r'new_tower/(.*)/kernel', r'tower/\1/kernel')],
        )
        np.testing.assert_array_equal(
            values['new_tower/dense/kernel'], self.OLD['tower/dense/kernel']
        )
        np.testing.assert_array_equal(values['new_tower/dense/bias'], [-1.0, -1.0, -1.0])
        self.assertEqual(report.entry('new_tower/dense/kernel').renamed_by, 'rule 1')
        self.assertEqual(report.entry('new_tower/dense/bias').action, 'skip')

    def test_strict_mode_passes_when_leftovers_are_ignored(self):
        shapes = {'tower/dense/kernel': (4, 3), 'tower/dense/bias': (3,)}
        with self.assertRaisesRegex(
            wsh.WarmStartError, r'strict mode: 1 checkpoint tensor.*head/kernel'
        ):
            self._run('eager', shapes, strict=True)
        _, report = self._run(
            'eager', shapes, strict=True, ignore_checkpoint_keys=[r'head/.*', 'global_step']
        )
        self.assertEqual(report.counts(), {'copy': 2})


class NewRowInitTest(parameterized.TestCase):
    """`new_row_init`: new rows from the old matrix, against numpy oracles."""

    OLD_TOKENS = ['a', 'b', 'c', 'd']
    NEW_TOKENS = ['c', 'x', 'a', 'y', 'b']

    def setUp(self):
        super().setUp()
        d = self.create_tempdir().full_path
        self.old = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
        self.dir = save_checkpoint(d, {'emb': self.old})
        self.old_vocab = write_vocab(d, 'old.txt', self.OLD_TOKENS)
        self.new_vocab = write_vocab(d, 'new.txt', self.NEW_TOKENS)

    def _warm(self, how, seed=0):
        v = tf.Variable(np.zeros((6, 3), np.float32))  # 5 tokens + 1 OOV row.
        info = wsh.VocabInfo(self.new_vocab, 5, 1, self.old_vocab, new_row_init=how, seed=seed)
        wsh.warm_start(self.dir, '.*', {'emb': info}, variables={'emb': v})
        return v.numpy()

    def _check_copied_rows(self, got):
        for row, tok in enumerate(self.NEW_TOKENS):
            if tok in self.OLD_TOKENS:
                np.testing.assert_array_equal(got[row], self.old[self.OLD_TOKENS.index(tok)])

    def test_mean(self):
        got = self._warm('mean')
        self._check_copied_rows(got)
        for row in (1, 3, 5):  # 'x', 'y' and the OOV row.
            np.testing.assert_allclose(got[row], self.old.mean(axis=0), rtol=1e-6)

    def test_donor(self):
        got = self._warm(('copy', 'd'))
        self._check_copied_rows(got)
        for row in (1, 3, 5):
            np.testing.assert_array_equal(got[row], self.old[3])

    def test_gaussian_fitted_to_the_old_rows(self):
        got = self._warm('gaussian', seed=7)
        self._check_copied_rows(got)
        old = self.old.astype(np.float64)
        draws = np.random.default_rng(7).standard_normal((6, 3)) * old.std(axis=0) + old.mean(
            axis=0
        )
        np.testing.assert_allclose(got[[1, 3, 5]], draws[[1, 3, 5]], rtol=1e-5)
        # A new seed gives new draws; the copied rows stay.
        other = self._warm('gaussian', seed=8)
        self.assertFalse(np.allclose(other[[1, 3, 5]], got[[1, 3, 5]]))


class MissingCheckpointTest(_DiffTestCase):
    """A missing checkpoint is a `WarmStartError` and TensorFlow's `NotFoundError`.

    Code that catches `tf.errors.NotFoundError` to train from scratch keeps
    working: TensorFlow raises it for a missing prefix or directory.
    """

    def setUp(self):
        super().setUp()
        root = self.create_tempdir().full_path
        self.ckpt = save_checkpoint(os.path.join(root, 'model'), {'w': [[1.0, 2.0]]})
        empty = os.path.join(root, 'empty')
        os.makedirs(empty)
        gone = os.path.join(root, 'gone')
        save_checkpoint(gone, {'w': [[1.0, 2.0]]})
        for name in os.listdir(gone):
            if name != 'checkpoint':
                os.remove(os.path.join(gone, name))
        self.paths = {
            'no_prefix': os.path.join(self.ckpt, 'model-7'),
            'no_directory': os.path.join(root, 'nothing', 'here'),
            'empty_directory': empty,
            'deleted_files': gone,
        }

    _CALLS = {
        'warm_start': (v1.train.warm_start, wsh.warm_start),
        'init_from_checkpoint': (
            lambda path: v1.train.init_from_checkpoint(path, {'w': 'w'}),
            lambda path: wsh.init_from_checkpoint(path, {'w': 'w'}),
        ),
        'plan': (None, wsh.plan),
    }

    @parameterized.product(
        path=['no_prefix', 'no_directory', 'empty_directory', 'deleted_files'],
        call=['warm_start', 'init_from_checkpoint', 'plan'],
    )
    def test_caught_as_not_found_and_as_warm_start_error(self, path, call):
        path = self.paths[path]
        theirs, ours = self._CALLS[call]
        tf_raises_not_found = False
        if theirs is not None:
            with tf.Graph().as_default():
                _var('w', [1, 2])
                try:
                    theirs(path)
                except tf.errors.NotFoundError:
                    tf_raises_not_found = True
                except (ValueError, TypeError):
                    pass  # TensorFlow raises these for a directory without checkpoints.
        with tf.Graph().as_default():
            w = _var('w', [1, 2])
            initializer = w.initializer
            with self.assertRaises(tf.errors.NotFoundError) as not_found:
                ours(path)
            with self.assertRaises(wsh.WarmStartError) as warm_start_error:
                ours(path)
            self.assertIs(w.initializer, initializer)
        for e in (not_found.exception, warm_start_error.exception):
            self.assertIsInstance(e, wsh.CheckpointNotFoundError)
            self.assertIsInstance(e, ValueError)
            self.assertEqual(e.error_code, tf.errors.NOT_FOUND)
            self.assertIn(f'Received: ckpt_to_initialize_from={path!r}', e.problems[-1])
        if call != 'plan' and path in (self.paths['no_prefix'], self.paths['no_directory']):
            self.assertTrue(tf_raises_not_found, 'TensorFlow raises NotFoundError here too')

    def test_fall_back_to_training_from_scratch(self):
        # The pattern of user code that relies on TensorFlow's error.
        for warm_start in (v1.train.warm_start, wsh.warm_start):
            with tf.Graph().as_default():
                w = _var('w', [1, 2], v1.ones_initializer())
                try:
                    warm_start(self.paths['no_directory'])
                except tf.errors.NotFoundError:
                    pass
                with v1.Session() as sess:
                    sess.run(v1.global_variables_initializer())
                    np.testing.assert_array_equal(sess.run(w), [[1.0, 1.0]])

    def test_eager(self):
        w = tf.Variable([[0.0, 0.0]], name='w')
        with self.assertRaises(tf.errors.NotFoundError):
            wsh.warm_start(self.paths['no_prefix'], variables=[w])
        with self.assertRaises(tf.errors.NotFoundError):
            wsh.init_from_checkpoint(self.paths['no_prefix'], {'w': w})
        np.testing.assert_array_equal(w.numpy(), [[0.0, 0.0]])

    def test_listed_with_settings_problems(self):
        with tf.Graph().as_default():
            _var('w', [1, 2])
            with self.assertRaises(tf.errors.NotFoundError) as cm:
                wsh.warm_start(
                    self.paths['no_prefix'],
                    var_name_to_vocab_info={'w': wsh.VocabInfo('new', -1, 0, 'old')},
                )
        self.assertLen(cm.exception.problems, 2)
        self.assertIn('new_vocab_size must be >= 0', cm.exception.problems[0])
        self.assertIn('No checkpoint found', cm.exception.problems[1])


class BytesPathTest(_DiffTestCase):
    """`bytes` paths, as `Estimator.export_saved_model()` returns, work like `str` ones."""

    def setUp(self):
        super().setUp()
        d = self.create_tempdir().full_path
        self.old = write_vocab(d, 'old', OLD_FRUITS)
        self.new = write_vocab(d, 'new', NEW_FRUITS)
        self.dir = save_checkpoint(d, {'emb': FRUITS, 'w': [[1.0, 2.0]]})
        self.prefix = os.path.join(d, 'model-0')

    @staticmethod
    def _build():
        return {'emb': _var('emb', [5, 1], None, _min2), 'w': _var('w', [1, 2])}

    def test_warm_start_with_bytes_prefix_and_vocabularies(self):
        def info(cls):
            return {'emb': cls(self.new.encode(), 5, 0, self.old.encode())}

        self.assertSameAsTf(
            self._build,
            lambda vs: v1.train.warm_start(
                self.prefix.encode(), var_name_to_vocab_info=info(v1.train.VocabInfo)
            ),
            lambda vs: wsh.warm_start(
                self.prefix.encode(), var_name_to_vocab_info=info(wsh.VocabInfo)
            ),
            {'emb': [[2.0], [1.5], [1.0], [0.5], [0.0]], 'w': [[1.0, 2.0]]},
        )

    def test_init_from_checkpoint_with_bytes_prefix(self):
        self.assertSameAsTf(
            self._build,
            lambda vs: v1.train.init_from_checkpoint(self.prefix.encode(), {'w': 'w'}),
            lambda vs: wsh.init_from_checkpoint(self.prefix.encode(), {'w': 'w'}),
            {'w': [[1.0, 2.0]]},
        )

    def test_bytes_directory(self):
        # TensorFlow refuses a bytes directory (it joins it with a str); its result for the
        # same directory as str is the oracle.
        self.assertSameAsTf(
            self._build,
            lambda vs: v1.train.warm_start(self.dir, 'w'),
            lambda vs: wsh.warm_start(self.dir.encode(), 'w'),
            {'w': [[1.0, 2.0]]},
        )

    def test_settings_and_eager(self):
        w = tf.Variable([[0.0, 0.0]], name='w')
        report = wsh.warm_start(wsh.WarmStartSettings(self.dir.encode(), 'w'), variables=[w])
        np.testing.assert_array_equal(w.numpy(), [[1.0, 2.0]])
        self.assertEqual(report.source, self.prefix)


class SettingsErrorsTest(parameterized.TestCase):
    """Settings of the wrong form raise one WarmStartError listing each, nothing changed."""

    def setUp(self):
        super().setUp()
        self.dir = save_checkpoint(self.create_tempdir().full_path, {'w': [[1.0, 2.0]]})

    _CASES = (
        (
            'prev_names_as_list',
            dict(var_name_to_prev_var_name=[('w', 'w')]),
            r'var_name_to_prev_var_name must be a dict .* Received: var_name_to_prev_var_name='
            r"\[\('w', 'w'\)\]",
        ),
        (
            'prev_name_not_a_string',
            dict(var_name_to_prev_var_name={'w': 3}),
            r"values must be the non-empty name of a tensor .* Received: 'w': 3",
        ),
        (
            'vocab_infos_as_list',
            dict(var_name_to_vocab_info=[('w', 1)]),
            r'var_name_to_vocab_info must be a dict .* Received: var_name_to_vocab_info=\[',
        ),
        (
            'shape_policy_bad_regex',
            dict(shape_policy={'w(': 'skip'}),
            r"shape_policy has an invalid regex .* Received: 'w\('\. Fix the pattern",
        ),
        (
            'ignore_keys_bad_regex',
            dict(strict=True, ignore_checkpoint_keys=['(']),
            r"ignore_checkpoint_keys has an invalid regex .* Received: '\('\. Fix the pattern",
        ),
        (
            'rules_a_string',
            dict(rules='abc'),
            r"a single string is not split into characters\. Received: rules='abc'",
        ),
        ('unknown_option', dict(stict=True), r"unknown settings field\(s\) \['stict'\]"),
    )

    @parameterized.named_parameters(*_CASES)
    def test_graph(self, options, pattern):
        with tf.Graph().as_default():
            w = _var('w', [1, 2])
            initializer = w.initializer
            with self.assertRaisesRegex(wsh.WarmStartError, pattern) as cm:
                wsh.warm_start(self.dir, **options)
            self.assertLen(cm.exception.problems, 1)
            self.assertIs(w.initializer, initializer)

    @parameterized.named_parameters(*_CASES)
    def test_eager(self, options, pattern):
        w = tf.Variable([[0.0, 0.0]], name='w')
        with self.assertRaisesRegex(wsh.WarmStartError, pattern):
            wsh.warm_start(self.dir, variables=[w], **options)
        np.testing.assert_array_equal(w.numpy(), [[0.0, 0.0]])

    def test_vocab_info_keyed_by_ref_with_a_wrong_value(self):
        w = tf.Variable([[0.0, 0.0]], name='w')
        with self.assertRaisesRegex(
            wsh.WarmStartError, r"values must be VocabInfo .* Received: 'w:0': 'vocab.txt'"
        ):
            wsh.warm_start(self.dir, var_name_to_vocab_info={w.ref(): 'vocab.txt'}, variables=[w])

    @parameterized.named_parameters(
        ('not_a_map', 3, 'assignment_map must be a dict of checkpoint name'),
        ('list_of_names', ['w'], r"Received: assignment_map=\['w'\]"),
        ('mixed_keys', {'w': 'w', 3: 'w'}, 'assignment_map keys must be checkpoint names'),
        ('options', {'w': 'w'}, r"unknown settings field\(s\) \['bogus'\]"),
    )
    def test_init_from_checkpoint(self, assignment_map, pattern):
        with tf.Graph().as_default():
            w = _var('w', [1, 2])
            initializer = w.initializer
            options = {'bogus': 1} if pattern.startswith('unknown') else {}
            with self.assertRaisesRegex(wsh.WarmStartError, pattern) as cm:
                wsh.init_from_checkpoint(self.dir, assignment_map, **options)
            self.assertIs(w.initializer, initializer)
            self.assertStartsWith(str(cm.exception), 'The init_from_checkpoint was not applied')

    @parameterized.named_parameters(
        ('number', 3, 'variables must be a Keras model, .* Received: variables=int'),
        ('list_item', 'LIST', r'Received: variables\[1\]=3'),
        ('dict_value', 'DICT_VALUE', r"Received: variables\['w'\]=3"),
        ('dict_key', 'DICT', r'variables keys must be variable names \(str\)\. Received: 3'),
    )
    def test_variables_of_the_wrong_form(self, variables, pattern):
        w = tf.Variable([[0.0, 0.0]], name='w')
        variables = {'LIST': [w, 3], 'DICT': {3: w}, 'DICT_VALUE': {'w': 3}}.get(
            variables, variables
        )
        for call in (
            lambda: wsh.warm_start(self.dir, variables=variables),
            lambda: wsh.plan(self.dir, variables=variables),
            lambda: wsh.init_from_checkpoint(self.dir, {'w': 'w'}, variables=variables),
        ):
            with self.assertRaisesRegex(wsh.WarmStartError, pattern):
                call()
        np.testing.assert_array_equal(w.numpy(), [[0.0, 0.0]])

    def test_settings_and_positional_fields_together(self):
        with tf.Graph().as_default():
            _var('w', [1, 2])
            with self.assertRaisesRegex(wsh.WarmStartError, 'given settings and also'):
                wsh.warm_start(wsh.WarmStartSettings(self.dir), ['w'])


if __name__ == '__main__':
    absltest.main()
