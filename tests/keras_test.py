"""Tests for warm_start_hooks.keras: WarmStartCallback and TfKerasWarmStartCallback.

Every callback test runs once per Keras flavour installed: `import keras`
(Keras 3 on TensorFlow >= 2.16, Keras 2 on TensorFlow 2.15) and `tf_keras`.
Values are checked against a numpy oracle (the old model's arrays, remapped
by hand) and, for vocabulary remaps, against TensorFlow's own graph-mode
`tf.compat.v1.train.warm_start`. The step-0 proofs train with a learning rate
of 0 and compare the loss Keras reports for the first batch with the loss the
expected weights give, computed in numpy.
"""

import importlib
import os
import re
import sys
from unittest import mock

import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks
from warm_start_hooks import keras as wsh_keras


def _importable(module):
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False


def _has_estimator():
    try:
        return tf.estimator.DNNClassifier is not None
    except (AttributeError, ImportError):
        return False


HAS_KERAS = _importable('keras')
HAS_TF_KERAS = _importable('tf_keras')
KERAS_3 = HAS_KERAS and importlib.import_module('keras').__version__.startswith('3.')
HAS_ESTIMATOR = _has_estimator()
# Keras 3 may run on JAX or PyTorch (KERAS_BACKEND); Keras 2 always runs on TensorFlow.
BACKEND = importlib.import_module('keras').backend.backend() if KERAS_3 else 'tensorflow'
CLASSES = {'keras': 'WarmStartCallback', 'tf_keras': 'TfKerasWarmStartCallback'}

OLD_WORDS = ['apple', 'banana', 'guava', 'orange']
NEW_WORDS = ['orange', 'banana', 'kiwi', 'apple', 'plum']
OLD_CLASSES = ['cat', 'dog', 'fish']
NEW_CLASSES = ['fish', 'bird', 'cat', 'dog']
EST_EMB = 'dnn/input_from_feature_columns/input_layer/tok_embedding/embedding_weights'
EST_RULES = (
    (r'(?:.*/)?hiddenlayer_0/(kernel|bias)', r'dnn/hiddenlayer_0/\1'),
    (r'(?:.*/)?logits/(kernel|bias)', r'dnn/logits/\1'),
)


def _name(v):
    """The name the library uses: Keras 3 `path`, else the name without ':0'."""
    path = getattr(v, 'path', None)
    return path if isinstance(path, str) else v.name.rsplit(':', 1)[0]


def _values(model):
    return [np.array(v.numpy()) for v in model.variables]


def _randomize(model, seed):
    rng = np.random.default_rng(seed)
    for v in model.variables:
        value = rng.normal(size=tuple(v.shape)).astype(np.float32)
        if 'variance' in _name(v):
            value = np.abs(value) + 0.5
        v.assign(value)


def _tf_warm_start(prefix, shapes, vocab_infos, prev_names=None):
    """TensorFlow's graph-mode warm start of zero-initialised variables; name -> value."""
    with tf.Graph().as_default():
        variables = {
            name: tf.compat.v1.get_variable(name, shape, initializer=tf.zeros_initializer())
            for name, shape in shapes.items()
        }
        tf.compat.v1.train.warm_start(
            prefix,
            vars_to_warm_start=list(shapes),
            var_name_to_vocab_info=vocab_infos,
            var_name_to_prev_var_name=prev_names,
        )
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return sess.run(variables)


def _remap(old, old_tokens, new_tokens, axis):
    """Numpy oracle: rows (axis 0) or columns (axis 1) by token; new tokens get zeros."""
    old = np.moveaxis(old, axis, 0)
    out = np.zeros((len(new_tokens),) + old.shape[1:], old.dtype)
    for i, token in enumerate(new_tokens):
        if token in old_tokens:
            out[i] = old[old_tokens.index(token)]
    return np.moveaxis(out, 0, axis)


def _mlp(x, layers):
    """Numpy forward pass of Dense(relu) layers then a linear Dense."""
    for i, (kernel, bias) in enumerate(layers):
        x = x @ kernel + bias
        if i < len(layers) - 1:
            x = np.maximum(x, 0.0)
    return x


def _cross_entropy(logits, labels):
    logits = logits - logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(labels)), labels].mean())


def _dense_layers(model):
    return [(layer.kernel.numpy(), layer.bias.numpy()) for layer in model.layers if layer.weights]


class _CallbackTestBase(parameterized.TestCase):
    """The callback tests; subclasses pick the Keras flavour."""

    FLAVOUR = None

    def setUp(self):
        super().setUp()
        self.K = importlib.import_module(self.FLAVOUR)
        self.Callback = getattr(wsh_keras, CLASSES[self.FLAVOUR])
        self.root = self.create_tempdir().full_path
        rng = np.random.default_rng(0)
        self.x = rng.normal(size=(8, 3)).astype(np.float32)
        self.y = rng.normal(size=(8, 2)).astype(np.float32)

    # ---- helpers -------------------------------------------------------
    def _model(self, kind):
        K = self.K
        if kind == 'sequential':
            return K.Sequential([K.Input((3,)), K.layers.Dense(4, 'relu'), K.layers.Dense(2)])
        if kind == 'batchnorm':
            return K.Sequential(
                [K.Input((3,)), K.layers.Dense(4), K.layers.BatchNormalization(), K.layers.Dense(2)]
            )
        if kind == 'functional':
            inputs = K.Input((3,))
            hidden = K.layers.Dense(4, 'relu')(inputs)
            return K.Model(inputs, K.layers.Dense(2)(hidden))

        class TwoLayers(K.Model):
            def __init__(self):
                super().__init__()
                self.hidden = K.layers.Dense(4, 'relu')
                self.head = K.layers.Dense(2)

            def call(self, x):
                return self.head(self.hidden(x))

        model = TwoLayers()
        if kind == 'subclassed':
            model(self.x[:1])
        return model

    def _old_model(self, kind='sequential', seed=1):
        model = self._model('subclassed' if kind == 'subclassed_unbuilt' else kind)
        _randomize(model, seed)
        return model

    def _on_tensorflow(self):
        return self.FLAVOUR == 'tf_keras' or BACKEND == 'tensorflow'

    def _need_tensorflow(self, what):
        if not self._on_tensorflow():
            self.skipTest(f'{what} needs the TensorFlow backend; Keras runs on {BACKEND} here')

    def _save(self, model, how=None):
        if how is None:  # A TensorFlow checkpoint where the model is a TensorFlow one.
            how = 'checkpoint' if self._on_tensorflow() else 'save_weights'
        if how == 'checkpoint':
            self._need_tensorflow('tf.train.Checkpoint')
            return tf.train.Checkpoint(model=model).write(os.path.join(self.root, 'ckpt'))
        if KERAS_3 and self.FLAVOUR == 'keras':
            path = os.path.join(self.root, 'old.weights.h5')
        else:
            path = os.path.join(self.root, 'old')  # Keras 2: the TensorFlow format.
        model.save_weights(path)
        return path

    def _compile(self, model, lr=0.0, loss='mse'):
        model.compile(optimizer=self.K.optimizers.SGD(learning_rate=lr), loss=loss)
        return model

    def _recorder(self):
        K = self.K

        class Recorder(K.callbacks.Callback):
            """Records the first batch's starting values and every batch's loss."""

            def __init__(self):
                super().__init__()
                self.first = None
                self.losses = []

            def on_train_batch_begin(self, batch, logs=None):
                if self.first is None and self.model.built and self.model.variables:
                    self.first = _values(self.model)

            def on_train_batch_end(self, batch, logs=None):
                self.losses.append(float(logs['loss']))

        return Recorder()

    def _interrupt(self, epoch):
        K = self.K

        class Interrupt(K.callbacks.Callback):
            def on_epoch_begin(self, e, logs=None):
                if e == epoch:
                    raise RuntimeError('interrupted')

        return Interrupt()

    def _fit(self, model, callbacks, x=None, y=None, **kwargs):
        x = self.x if x is None else x
        y = self.y if y is None else y
        kwargs.setdefault('epochs', 1)
        model.fit(x, y, batch_size=len(x), verbose=0, shuffle=False, callbacks=callbacks, **kwargs)

    # ---- object-based checkpoints and model kinds ----------------------
    @parameterized.named_parameters(
        (f'{kind}_{how}', kind, how)
        for kind in ('sequential', 'functional', 'subclassed', 'subclassed_unbuilt')
        for how in ('checkpoint', 'save_weights')
    )
    def test_same_structure_is_matched_and_in_place_at_step_0(self, kind, how):
        old = self._old_model(kind)
        source = self._save(old, how)
        expected = _dense_layers(old)
        model = self._compile(self._model(kind))
        callback, recorder = self.Callback(source), self._recorder()
        self._fit(model, [callback, recorder])

        # Step 0: the loss of the first batch is the loss of the old weights.
        oracle = float(np.mean((_mlp(self.x, expected) - self.y) ** 2))
        np.testing.assert_allclose(recorder.losses[0], oracle, rtol=1e-5)
        for (kernel, bias), (old_kernel, old_bias) in zip(_dense_layers(model), expected):
            np.testing.assert_array_equal(kernel, old_kernel)
            np.testing.assert_array_equal(bias, old_bias)
        self.assertTrue(callback.report.applied)
        self.assertEqual(callback.report.counts(), {'copy': 4})
        self.assertCountEqual(callback.report.names(), [_name(v) for v in model.variables])
        if kind == 'subclassed_unbuilt':
            # Built from the batch spec at the first step; fit's train function is back.
            self.assertNotEqual(model.train_function.__name__, 'first_train_step')

    def _two_towers(self, seed):
        """Two towers, each with a layer named 'proj' (Keras 2 names both 'proj/kernel')."""
        K = self.K

        def tower(name):
            inputs = K.Input((3,))
            return K.Model(inputs, K.layers.Dense(2, name='proj')(inputs), name=name)

        inputs = K.Input((3,))
        left, right = tower('left')(inputs), tower('right')(inputs)
        model = K.Model(inputs, K.layers.Add()([left, right]))
        _randomize(model, seed)
        return model

    @parameterized.named_parameters(('checkpoint', 'checkpoint'), ('save_weights', 'save_weights'))
    def test_towers_with_layers_of_one_name_like_restore(self, how):
        old = self._two_towers(1)
        source = self._save(old, how)
        model = self._compile(self._two_towers(2))
        callback = self.Callback(source)
        self._fit(model, [callback])  # Learning rate 0: the values stay as warm-started.
        # Oracle: the framework's own restore of the same file into a third copy.
        oracle = self._two_towers(3)
        if how == 'checkpoint':
            tf.train.Checkpoint(model=oracle).read(source).assert_existing_objects_matched()
        else:
            oracle.load_weights(source)
        for got, want, before in zip(_values(model), _values(oracle), _values(old)):
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(got, before)
        self.assertEqual(callback.report.counts(), {'copy': 4})
        self.assertLen({e.source_key for e in callback.report.entries}, 4)

    @parameterized.named_parameters(
        ('trainable_default', '.*', None, False),
        ('collection_all', '.*', 'all', True),
        ('list_of_regexes', ['.*'], None, True),
    )
    def test_moving_statistics_need_all_variables(self, selection, collection, stats_copied):
        old = self._old_model('batchnorm')
        source = self._save(old)
        model = self._compile(self._model('batchnorm'))
        fresh = _values(model)
        callback = self.Callback(
            warm_start_hooks.WarmStartSettings(source, selection, collection=collection)
        )
        recorder = self._recorder()
        self._fit(model, [callback, recorder])

        for v, value, old_value, init in zip(model.variables, recorder.first, _values(old), fresh):
            is_stat = 'moving_' in _name(v)
            want = old_value if (stats_copied or not is_stat) else init
            np.testing.assert_array_equal(value, want, err_msg=_name(v))
        self.assertLen(callback.report.entries, 8 if stats_copied else 6)

    def test_variables_given_as_objects(self):
        old = self._old_model()
        source = self._save(old)
        model = self._compile(self._model('sequential'))
        before = _values(model)
        head = model.layers[-1]
        callback = self.Callback(
            warm_start_hooks.WarmStartSettings(source, vars_to_warm_start=[head.kernel])
        )
        self._fit(model, [callback])
        np.testing.assert_array_equal(head.kernel.numpy(), old.layers[-1].kernel.numpy())
        for v, value in zip(model.variables, before):
            if v is not head.kernel:
                np.testing.assert_array_equal(v.numpy(), value)
        self.assertEqual(callback.report.names(), [_name(head.kernel)])

    # ---- part of a model --------------------------------------------------
    def _task_model(self, backbone):
        K = self.K
        inputs = K.Input((3,))
        return K.Model(inputs, K.layers.Dense(2, name='task_head')(backbone(inputs)))

    def _backbone(self, name='backbone'):
        K = self.K
        return K.Sequential(
            [K.Input((3,)), K.layers.Dense(4, 'relu'), K.layers.Dense(3)], name=name
        )

    @parameterized.named_parameters(
        (f'{form}_{how}', form, how)
        for form in ('layer_name', 'callable')
        for how in ('checkpoint', 'save_weights')
    )
    def test_target_warm_starts_a_sub_model_inside_a_task_model(self, form, how):
        old = self._backbone('old_backbone')
        _randomize(old, 4)
        source = self._save(old, how)
        backbone = self._backbone()
        model = self._compile(self._task_model(backbone))
        head = model.get_layer('task_head')
        fresh_head = [v.numpy() for v in head.variables]
        target = 'backbone' if form == 'layer_name' else (lambda m: m.get_layer('backbone'))
        callback = self.Callback(source, target=target)
        self._fit(model, [callback], y=np.zeros((8, 2), np.float32))

        # The sub-model computes what the old model computed; the task head is untouched.
        np.testing.assert_allclose(
            backbone.predict(self.x, verbose=0), old.predict(self.x, verbose=0), rtol=1e-6
        )
        for v, value in zip(head.variables, fresh_head):
            np.testing.assert_array_equal(v.numpy(), value)
        # Named as in the whole model.
        self.assertEqual(callback.report.names(), [_name(v) for v in backbone.trainable_variables])
        self.assertEqual(callback.report.counts(), {'copy': 4})

    def test_target_errors_name_the_fix(self):
        source = self._save(self._old_model())
        model = self._compile(self._task_model(self._backbone()))
        with self.assertRaisesRegex(
            warm_start_hooks.WarmStartError,
            r"target 'backbon' names no layer.*Did you mean: backbone",
        ):
            self._fit(model, [self.Callback(source, target='backbon')], y=np.zeros((8, 2)))
        other = self._backbone('other')
        with self.assertRaisesRegex(
            warm_start_hooks.WarmStartError, 'not a built layer or sub-model'
        ):
            self._fit(model, [self.Callback(source, target=lambda m: other)], y=np.zeros((8, 2)))
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'Received: target=3'):
            self.Callback(source, target=3)

    # ---- vocabularies --------------------------------------------------
    def _vocab_model(self, words, classes):
        K = self.K
        inputs = K.Input((1,), dtype=tf.string)
        lookup = K.layers.StringLookup(vocabulary=words)
        ids = lookup(inputs)
        vectors = K.layers.Embedding(lookup.vocabulary_size(), 3, name='emb')(ids)
        logits = K.layers.Dense(len(classes), name='head')(K.layers.Flatten()(vectors))
        return K.Model(inputs, logits), lookup

    def test_embedding_and_class_head_are_remapped_by_token(self):
        self._need_tensorflow('a model with a string input')
        old, old_lookup = self._vocab_model(OLD_WORDS, OLD_CLASSES)
        _randomize(old, 2)
        source = self._save(old)
        model, lookup = self._vocab_model(NEW_WORDS, NEW_CLASSES)
        self._compile(model)
        emb, head = model.get_layer('emb'), model.get_layer('head')
        old_rows, new_rows = old_lookup.get_vocabulary(), lookup.get_vocabulary()
        self.assertEqual(new_rows[0], '[UNK]')  # StringLookup's OOV row comes first.
        infos = {
            _name(emb.embeddings): warm_start_hooks.VocabInfo(
                new_rows, lookup.vocabulary_size(), 0, old_rows
            ),
            _name(head.kernel): warm_start_hooks.VocabInfo(
                NEW_CLASSES, len(NEW_CLASSES), 0, OLD_CLASSES, axis=1
            ),
        }
        fresh_bias = head.bias.numpy()
        callback = self.Callback(
            warm_start_hooks.WarmStartSettings(source, var_name_to_vocab_info=infos),
            rules=[(r'.*head/bias', None)],
        )
        words = tf.constant([['banana'], ['orange'], ['zzz'], ['apple']])
        self._fit(model, [callback], x=words, y=np.zeros((4, 4), np.float32))

        old_emb = old.get_layer('emb').embeddings.numpy()
        old_kernel = old.get_layer('head').kernel.numpy()
        want_emb = _remap(old_emb, old_rows, new_rows, 0)
        want_kernel = _remap(old_kernel, OLD_CLASSES, NEW_CLASSES, 1)
        np.testing.assert_array_equal(emb.embeddings.numpy(), want_emb)
        np.testing.assert_array_equal(head.kernel.numpy(), want_kernel)
        np.testing.assert_array_equal(head.bias.numpy(), fresh_bias)
        self.assertEqual(callback.report.entry(_name(head.bias)).action, 'skip')

        # TensorFlow's graph-mode warm start gives the same values.
        prefix = testutil.save_v1_checkpoint(
            os.path.join(self.root, 'v1', 'model'), {'emb': old_emb, 'head_kernel': old_kernel}
        )
        d = self.create_tempdir().full_path
        tf_values = _tf_warm_start(
            prefix,
            {'emb': want_emb.shape, 'head_kernel': want_kernel.shape},
            {
                'emb': tf.compat.v1.train.VocabInfo(
                    testutil.write_lines(d, 'new.txt', new_rows),
                    len(new_rows),
                    0,
                    testutil.write_lines(d, 'old.txt', old_rows),
                ),
                'head_kernel': tf.compat.v1.train.VocabInfo(
                    testutil.write_lines(d, 'new_c.txt', NEW_CLASSES),
                    len(NEW_CLASSES),
                    0,
                    testutil.write_lines(d, 'old_c.txt', OLD_CLASSES),
                    axis=1,
                ),
            },
        )
        np.testing.assert_array_equal(emb.embeddings.numpy(), tf_values['emb'])
        np.testing.assert_array_equal(head.kernel.numpy(), tf_values['head_kernel'])

        # End to end: every word (OOV included) scores each old class as before, and
        # the new class 'bird' at 0 (biases aside: the head's bias was kept fresh).
        old_logits = old.predict(words, verbose=0) - old.get_layer('head').bias.numpy()
        new_logits = model.predict(words, verbose=0) - head.bias.numpy()
        for j, cls in enumerate(NEW_CLASSES):
            want = old_logits[:, OLD_CLASSES.index(cls)] if cls in OLD_CLASSES else 0.0
            np.testing.assert_allclose(
                new_logits[:, j], np.broadcast_to(want, (len(words),)), rtol=1e-5, atol=1e-6
            )

    # ---- migration from an Estimator checkpoint ------------------------
    def _estimator_like_model(self, words):
        K = self.K
        inputs = K.Input((1,), dtype=tf.string)
        lookup = K.layers.StringLookup(vocabulary=words)
        vectors = K.layers.Embedding(lookup.vocabulary_size(), 2, name='tok_embedding')(
            lookup(inputs)
        )
        hidden = K.layers.Dense(4, 'relu', name='hiddenlayer_0')(K.layers.Flatten()(vectors))
        return K.Model(inputs, K.layers.Dense(3, name='logits')(hidden)), lookup

    def _migration_settings(self, source, model, lookup):
        emb = _name(model.get_layer('tok_embedding').embeddings)
        # The Estimator's OOV bucket follows its vocabulary; StringLookup's comes
        # first. Naming the old OOV row '[UNK]' maps one onto the other.
        info = warm_start_hooks.VocabInfo(
            lookup.get_vocabulary(), lookup.vocabulary_size(), 0, OLD_WORDS + ['[UNK]']
        )
        return warm_start_hooks.WarmStartSettings(
            source,
            var_name_to_vocab_info={emb: info},
            var_name_to_prev_var_name={emb: EST_EMB},
            rules=EST_RULES,
        )

    def test_migration_from_estimator_names_with_vocabulary_change(self):
        self._need_tensorflow('a model with a string input')
        rng = np.random.default_rng(3)
        old = {
            EST_EMB: rng.normal(size=(len(OLD_WORDS) + 1, 2)),  # + 1 OOV bucket.
            'dnn/hiddenlayer_0/kernel': rng.normal(size=(2, 4)),
            'dnn/hiddenlayer_0/bias': rng.normal(size=(4,)),
            'dnn/logits/kernel': rng.normal(size=(4, 3)),
            'dnn/logits/bias': rng.normal(size=(3,)),
        }
        old = {k: v.astype(np.float32) for k, v in old.items()}
        model_dir = os.path.join(self.root, 'estimator')
        testutil.save_v1_checkpoint(os.path.join(model_dir, 'model.ckpt-5'), old)
        model, lookup = self._estimator_like_model(NEW_WORDS)
        self._compile(model, loss=self.K.losses.SparseCategoricalCrossentropy(from_logits=True))
        callback, recorder = (
            self.Callback(self._migration_settings(model_dir, model, lookup)),
            self._recorder(),
        )
        words = ['banana', 'orange', 'zzz', 'apple']
        labels = np.array([0, 2, 1, 1])
        self._fit(model, [callback, recorder], x=tf.constant([[w] for w in words]), y=labels)

        # The Estimator's logits: a known word's row, else the OOV bucket row.
        rows = [OLD_WORDS.index(w) if w in OLD_WORDS else len(OLD_WORDS) for w in words]
        logits = _mlp(
            old[EST_EMB][rows],
            [
                (old['dnn/hiddenlayer_0/kernel'], old['dnn/hiddenlayer_0/bias']),
                (old['dnn/logits/kernel'], old['dnn/logits/bias']),
            ],
        )
        np.testing.assert_allclose(recorder.losses[0], _cross_entropy(logits, labels), rtol=1e-5)
        np.testing.assert_allclose(
            model.predict(tf.constant([[w] for w in words]), verbose=0),
            logits,
            rtol=1e-5,
            atol=1e-6,
        )
        self.assertEqual(callback.report.counts(), {'copy': 4, 'remap': 1})
        stats = callback.report.entry(_name(model.get_layer('tok_embedding').embeddings)).vocab
        self.assertEqual((stats.new, stats.dropped), (2, 1))  # kiwi, plum new; guava dropped.

    # ---- resuming ------------------------------------------------------
    @parameterized.named_parameters(('backup_first', True), ('backup_last', False))
    def test_backup_and_restore_state_is_kept(self, backup_first):
        source = self._save(self._old_model())
        backup_dir = os.path.join(self.root, 'backup')
        first = self._compile(self._model('sequential'), lr=0.1)
        with self.assertRaisesRegex(RuntimeError, 'interrupted'):
            self._fit(
                first, [self.K.callbacks.BackupAndRestore(backup_dir), self._interrupt(1)], epochs=3
            )
        backed_up = _values(first)

        model = self._compile(self._model('sequential'), lr=0.1)
        callback, recorder = self.Callback(source), self._recorder()
        backup = self.K.callbacks.BackupAndRestore(backup_dir)
        order = [backup, callback] if backup_first else [callback, backup]
        self._fit(model, order + [recorder], epochs=3)

        self.assertFalse(callback.report.applied)
        self.assertIn('BackupAndRestore restored', callback.report.skipped_reason)
        for value, want in zip(recorder.first, backed_up):
            np.testing.assert_array_equal(value, want)

    def test_reloaded_model_resuming_at_a_later_epoch_is_kept(self):
        source = self._save(self._old_model())
        trained = self._old_model(seed=7)
        model = self._compile(self._model('sequential'))
        model.set_weights(trained.get_weights())
        callback, recorder = self.Callback(source), self._recorder()
        self._fit(model, [callback, recorder], initial_epoch=2, epochs=3)
        self.assertIn('resumes at epoch 2', callback.report.skipped_reason)
        for value, want in zip(recorder.first, _values(trained)):
            np.testing.assert_array_equal(value, want)

    def test_second_fit_does_not_warm_start_again(self):
        source = self._save(self._old_model())
        model = self._compile(self._model('sequential'), lr=0.1)
        callback = self.Callback(source)
        self._fit(model, [callback])
        self.assertTrue(callback.report.applied)
        trained = _values(model)
        recorder = self._recorder()
        self._fit(model, [callback, recorder])
        self.assertIn('optimizer has already taken 1 step', callback.report.skipped_reason)
        for value, want in zip(recorder.first, trained):
            np.testing.assert_array_equal(value, want)

    @parameterized.named_parameters(('kept', False), ('forced', True))
    def test_model_already_warm_started_by_the_core(self, force):
        old = self._old_model()
        source = self._save(old)
        model = self._compile(self._model('sequential'))
        warm_start_hooks.warm_start(source, variables=model)
        for v in model.variables:
            v.assign(v.numpy() + 1.0)  # Changed since: a re-run must not undo it.
        changed = _values(model)
        callback, recorder = self.Callback(source, force=force), self._recorder()
        self._fit(model, [callback, recorder])
        if force:
            self.assertTrue(callback.report.applied)
            for value, want in zip(recorder.first, _values(old)):
                np.testing.assert_array_equal(value, want)
        else:
            self.assertRegex(
                callback.report.skipped_reason,
                r'already warm-started from .*(ckpt|weights\.h5).*force=True',
            )
            for value, want in zip(recorder.first, changed):
                np.testing.assert_array_equal(value, want)

    # ---- report, logging, errors ---------------------------------------
    def test_optimizer_slots_follow_their_variables_with_include_slots(self):
        self._need_tensorflow('tf.train.Checkpoint of an optimizer')
        K = self.K
        old = self._old_model()
        old_opt = K.optimizers.Adam()
        old_opt.build(old.trainable_variables)
        shapes = {tuple(v.shape) for v in old.trainable_variables}
        slots = [v for v in old_opt.variables if tuple(v.shape) in shapes and len(v.shape)]
        for i, v in enumerate(slots):
            v.assign(np.full(v.shape, 10.0 + i, np.float32))
        source = tf.train.Checkpoint(model=old, optimizer=old_opt).write(
            os.path.join(self.root, 'with_slots')
        )
        expected = {i: np.full(v.shape, 10.0 + i, np.float32) for i, v in enumerate(slots)}

        model = self._model('sequential')
        model.compile(optimizer=K.optimizers.Adam(learning_rate=0.0), loss='mse')

        class Probe(K.callbacks.Callback):
            """Records the optimizer's variables right after the warm start."""

            def on_epoch_begin(self, epoch, logs=None):
                opt = self.model.optimizer
                self.slots = [
                    v.numpy() for v in opt.variables if tuple(v.shape) in shapes and len(v.shape)
                ]
                self.lr = float(np.asarray(opt.learning_rate))

        probe = Probe()
        callback = self.Callback(source, include_slots=True, collection='all')
        self._fit(model, [callback, probe])
        self.assertLen(probe.slots, len(expected))
        for i, value in enumerate(probe.slots):
            np.testing.assert_array_equal(value, expected[i])
        self.assertEqual(probe.lr, 0.0)  # Hyperparameters are not warm-started.
        self.assertEqual(callback.report.counts(), {'copy': 4 + len(expected)})

    def test_include_slots_needs_tensorflow_objects(self):
        if self._on_tensorflow():
            self.skipTest('on TensorFlow the slots are found (tested above)')
        source = self._save(self._old_model())
        model = self._compile(self._model('sequential'))
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'without include_slots'):
            self._fit(model, [self.Callback(source, include_slots=True, collection='all')])

    def test_include_slots_needs_an_optimizer(self):
        old = self._old_model()
        source = self._save(old)
        model = self._model('sequential')
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'has no optimizer'):
            self.Callback(source, include_slots=True, collection='all')._warm_start(model)

    def test_report_is_logged_once(self):
        source = self._save(self._old_model())
        model = self._compile(self._model('sequential'))
        callback = self.Callback(source)
        with self.assertLogs('absl', level='INFO') as logs:
            self._fit(model, [callback], epochs=3)
        started = [r.getMessage() for r in logs.records if 'Warm-started' in r.getMessage()]
        self.assertEqual(started, [callback.report.summary()])

    def test_plan_problems_stop_fit_before_any_step(self):
        source = self._save(self._old_model())
        model = self._compile(self._model('sequential'), lr=0.1)
        before = _values(model)
        callback = self.Callback(
            source, vars_to_warm_start='no_such_layer', var_name_to_prev_var_name={'nope': 'x'}
        )
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, r'2 problems') as cm:
            self._fit(model, [callback])
        self.assertRegex(str(cm.exception), "pattern 'no_such_layer' matches no trainable")
        self.assertRegex(str(cm.exception), "has 'nope', which names no selected variable")
        for v, value in zip(model.variables, before):
            np.testing.assert_array_equal(v.numpy(), value)
        self.assertEqual(int(model.optimizer.iterations.numpy()), 0)

    def test_unbuildable_model_names_the_fix(self):
        # On JAX and PyTorch, fit() builds the model itself before any callback runs,
        # and raises the model's own error there.
        self._need_tensorflow('building the model at the first train step')
        source = self._save(self._old_model())
        K = self.K

        class NeedsPairs(K.Model):
            def __init__(self):
                super().__init__()
                self.head = K.layers.Dense(2)

            def call(self, x):
                if x.shape[-1] != 6:
                    raise ValueError('expected concatenated pairs of width 6')
                return self.head(x)

        model = self._compile(NeedsPairs())
        with self.assertRaisesRegex(
            warm_start_hooks.WarmStartError, 'building it from the spec of the training batches'
        ):
            self._fit(model, [self.Callback(source)])
        self.assertNotEqual(model.train_function.__name__, 'first_train_step')

    def test_invalid_settings_raise_when_constructed(self):
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, '2 problems') as cm:
            self.Callback('/tmp/x', collection='some', shape_policy='bad')
        self.assertRegex(str(cm.exception), r"Received: collection='some'")
        self.assertIsInstance(self.Callback('/tmp/x'), self.K.callbacks.Callback)


@absltest.skipUnless(HAS_KERAS, 'the keras package is not installed')
class KerasCallbackTest(_CallbackTestBase):
    FLAVOUR = 'keras'


@absltest.skipUnless(
    HAS_TF_KERAS,
    'the tf_keras package is not installed (TensorFlow <= 2.15 has Keras 2 as tf.keras, '
    'tested by KerasCallbackTest)',
)
class TfKerasCallbackTest(_CallbackTestBase):
    FLAVOUR = 'tf_keras'


del _CallbackTestBase  # Only its subclasses, one per flavour, are test cases.


@absltest.skipUnless(
    HAS_ESTIMATOR, 'tf.estimator needs TensorFlow <= 2.15 and tensorflow-estimator'
)
class EstimatorMigrationTest(parameterized.TestCase):
    """A real canned DNNClassifier checkpoint warm-starts an equivalent tf.keras model."""

    def test_keras_model_scores_like_the_estimator(self):
        import keras as K  # Keras 2, the same as tf.keras, on this stack.

        root = self.create_tempdir().full_path
        old_vocab = testutil.write_lines(root, 'old.txt', OLD_WORDS)
        column = tf.feature_column.embedding_column(
            tf.feature_column.categorical_column_with_vocabulary_file(
                'tok', old_vocab, num_oov_buckets=1
            ),
            dimension=2,
        )
        model_dir = os.path.join(root, 'estimator')
        estimator = tf.estimator.DNNClassifier(
            hidden_units=[4], feature_columns=[column], n_classes=3, model_dir=model_dir
        )
        train_words = [['apple'], ['banana'], ['guava'], ['orange'], ['zzz']]

        def train_input():
            features = {'tok': tf.constant(train_words)}
            return tf.data.Dataset.from_tensors((features, tf.constant([0, 1, 2, 1, 0]))).repeat()

        estimator.train(train_input, steps=5)
        words = ['banana', 'orange', 'zzz', 'apple']  # Known to both, and one OOV word.

        def predict_input():
            return tf.data.Dataset.from_tensors({'tok': tf.constant([[w] for w in words])})

        est_logits = np.stack([p['logits'] for p in estimator.predict(predict_input)])

        inputs = K.Input((1,), dtype=tf.string)
        lookup = K.layers.StringLookup(vocabulary=NEW_WORDS)
        vectors = K.layers.Embedding(lookup.vocabulary_size(), 2, name='tok_embedding')(
            lookup(inputs)
        )
        hidden = K.layers.Dense(4, 'relu', name='hiddenlayer_0')(K.layers.Flatten()(vectors))
        model = K.Model(inputs, K.layers.Dense(3, name='logits')(hidden))
        model.compile(
            optimizer=K.optimizers.SGD(learning_rate=0.0),
            loss=K.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        emb = _name(model.get_layer('tok_embedding').embeddings)
        settings = warm_start_hooks.WarmStartSettings(
            model_dir,
            var_name_to_vocab_info={
                emb: warm_start_hooks.VocabInfo(
                    lookup.get_vocabulary(), lookup.vocabulary_size(), 0, OLD_WORDS + ['[UNK]']
                )
            },
            var_name_to_prev_var_name={emb: EST_EMB},
            rules=EST_RULES,
        )
        callback = wsh_keras.WarmStartCallback(settings)
        losses = []
        record = K.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: losses.append(float(logs['loss']))
        )
        labels = np.array([0, 2, 1, 1])
        x = tf.constant([[w] for w in words])
        model.fit(x, labels, batch_size=4, epochs=1, verbose=0, callbacks=[callback, record])

        np.testing.assert_allclose(model.predict(x, verbose=0), est_logits, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(losses[0], _cross_entropy(est_logits, labels), rtol=1e-5)
        self.assertEqual(callback.report.counts(), {'copy': 4, 'remap': 1})


@absltest.skipUnless(HAS_KERAS and HAS_TF_KERAS, 'needs both keras and tf_keras')
class FlavourTest(absltest.TestCase):
    """A callback of one Keras flavour refuses a model of the other, with a fix."""

    def test_wrong_flavour_names_the_right_class(self):
        import tf_keras

        model = tf_keras.Sequential([tf_keras.Input((3,)), tf_keras.layers.Dense(2)])
        model.compile('sgd', 'mse')
        callback = wsh_keras.WarmStartCallback('/tmp/unused')
        with self.assertRaisesRegex(TypeError, 'Use warm_start_hooks.keras.TfKerasWarmStart'):
            model.fit(np.ones((2, 3)), np.ones((2, 2)), verbose=0, callbacks=[callback])


class FrameworkMissingTest(absltest.TestCase):
    def test_missing_package_raises_framework_missing(self):
        with (
            mock.patch.dict(sys.modules, {'tf_keras': None}),
            mock.patch.dict(wsh_keras._classes, clear=True),
        ):
            with self.assertRaisesRegex(
                warm_start_hooks.FrameworkMissingError, re.escape('pip install tf-keras')
            ):
                _ = wsh_keras.TfKerasWarmStartCallback

    def test_unknown_attribute(self):
        with self.assertRaises(AttributeError):
            _ = wsh_keras.NoSuchCallback

    def test_package_exports_the_callback(self):
        if not HAS_KERAS:
            self.skipTest('the keras package is not installed')
        self.assertIs(warm_start_hooks.WarmStartCallback, wsh_keras.WarmStartCallback)


if __name__ == '__main__':
    absltest.main()
