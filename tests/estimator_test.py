"""Tests for warm_start_hooks.estimator: WarmStartHook and the Estimator helpers.

`MonitoredTrainingSessionTest` runs on every TensorFlow; the Estimator tests
need tf.estimator (TensorFlow <= 2.15 with tensorflow-estimator). Results are
compared with TensorFlow's own warm start (`tf.compat.v1.train.warm_start`,
Estimator's `warm_start_from`) value for value.
"""

import os
import shutil
from unittest import mock

import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks
from warm_start_hooks import estimator as wse


def _has_estimator():
    try:
        return tf.estimator.Estimator is not None
    except (AttributeError, ImportError):
        return False


HAS_ESTIMATOR = _has_estimator()
NO_ESTIMATOR = (
    f'tf.estimator is not available with TensorFlow {tf.__version__} (it needs TensorFlow <= '
    '2.15 and tensorflow-estimator).'
)

OLD_WORDS = ['doctor', 'lawyer', 'consultant', 'nurse']
NEW_WORDS = ['nurse', 'consultant', 'engineer', 'doctor', 'pilot']
OLD_CLASSES = ['cat', 'dog', 'fish']
NEW_CLASSES = ['dog', 'bird', 'cat']
BACKUP = 0.39


def _backup():
    # A constant draw: TensorFlow and this library call the initializer with different shapes.
    return tf.compat.v1.initializers.random_uniform(BACKUP, BACKUP)


def _remapped_rows(old, old_words, new_words, rows):
    """Numpy oracle: rows of `old` reordered by vocabulary, BACKUP for new words."""
    out = np.full((rows, old.shape[1]), BACKUP, old.dtype)
    for i, word in enumerate(new_words):
        if word in old_words:
            out[i] = old[old_words.index(word)]
    return out


class _Snapshot(tf.compat.v1.train.SessionRunHook):
    """Records every global variable's value right after the session is created."""

    def begin(self):
        self._variables = tf.compat.v1.global_variables()

    def after_create_session(self, session, coord):
        del coord
        names = [v.name for v in self._variables]
        self.values = dict(zip(names, session.run(self._variables)))


# ---- MonitoredTrainingSession: every TensorFlow --------------------------


class MonitoredTrainingSessionTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        root = self.create_tempdir().full_path
        rng = np.random.default_rng(0)
        self.old_vocab = testutil.write_lines(root, 'old_vocab.txt', OLD_WORDS)
        self.new_vocab = testutil.write_lines(root, 'new_vocab.txt', NEW_WORDS)
        self.old_classes = testutil.write_lines(root, 'old_classes.txt', OLD_CLASSES)
        self.new_classes = testutil.write_lines(root, 'new_classes.txt', NEW_CLASSES)
        self.source_values = {
            'emb': rng.normal(size=(4, 2)).astype(np.float32),
            'head/kernel': rng.normal(size=(2, 3)).astype(np.float32),
            'old/dense/kernel': rng.normal(size=(2, 2)).astype(np.float32),
        }
        self.source = os.path.join(root, 'source')
        testutil.save_v1_checkpoint(
            os.path.join(self.source, 'model.ckpt'), self.source_values, global_step=0
        )
        self.model_dir = os.path.join(root, 'model')

    def _build(self, partitioned=False):
        """The new model: emb [5, 2], head/kernel [2, 3], dense/kernel [2, 2]."""
        tf.compat.v1.set_random_seed(5)
        partitioner = tf.compat.v1.fixed_size_partitioner(2) if partitioned else None
        tf.compat.v1.get_variable('emb', [5, 2], partitioner=partitioner)
        tf.compat.v1.get_variable('head/kernel', [2, 3])
        tf.compat.v1.get_variable('dense/kernel', [2, 2])
        tf.compat.v1.train.get_or_create_global_step()

    def _settings(self, case):
        vocab_rows = tf.compat.v1.train.VocabInfo(
            self.new_vocab, 5, 0, self.old_vocab, backup_initializer=_backup()
        )
        vocab_cols = tf.compat.v1.train.VocabInfo(
            self.new_classes, 3, 0, self.old_classes, backup_initializer=_backup(), axis=1
        )
        return {
            'renamed': ('dense.*', None, {'dense/kernel': 'old/dense/kernel'}),
            'vocab_rows': (None, {'emb': vocab_rows}, None),
            'vocab_columns': ('head.*', {'head/kernel': vocab_cols}, None),
            'everything': (
                '.*',
                {'emb': vocab_rows, 'head/kernel': vocab_cols},
                {'dense/kernel': 'old/dense/kernel'},
            ),
        }[case]

    def _values(self, partitioned, hooks=(), tf_settings=None):
        with tf.Graph().as_default():
            self._build(partitioned)
            if tf_settings is not None:
                tf.compat.v1.train.warm_start(self.source, *tf_settings)
            snapshot = _Snapshot()
            with tf.compat.v1.train.MonitoredTrainingSession(hooks=[*hooks, snapshot]):
                pass
        return snapshot.values

    @parameterized.named_parameters(
        ('renamed', 'renamed', False),
        ('vocab_rows', 'vocab_rows', False),
        ('vocab_rows_partitioned', 'vocab_rows', True),
        ('vocab_columns', 'vocab_columns', False),
        ('everything_partitioned', 'everything', True),
    )
    def test_matches_tf_warm_start(self, case, partitioned):
        args = self._settings(case)
        expected = self._values(partitioned, tf_settings=args)
        hook = warm_start_hooks.WarmStartHook(
            warm_start_hooks.WarmStartSettings(self.source, *args)
        )
        got = self._values(partitioned, hooks=[hook])
        fresh = self._values(partitioned)
        self.assertEqual(sorted(got), sorted(expected))
        for name in expected:
            np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
        self.assertTrue(hook.report.applied)
        self.assertIsNone(hook.report.skipped_reason)
        # Something was warm-started: at least one variable is not its fresh value.
        self.assertTrue(any(not np.array_equal(got[n], fresh[n]) for n in got))

    def test_values_match_numpy_oracle(self):
        hook = warm_start_hooks.WarmStartHook(
            warm_start_hooks.WarmStartSettings(self.source, *self._settings('everything'))
        )
        got = self._values(partitioned=True, hooks=[hook])
        emb = np.concatenate([got['emb/part_0:0'], got['emb/part_1:0']])
        np.testing.assert_array_equal(
            emb, _remapped_rows(self.source_values['emb'], OLD_WORDS, NEW_WORDS, 5)
        )
        head = _remapped_rows(self.source_values['head/kernel'].T, OLD_CLASSES, NEW_CLASSES, 3).T
        np.testing.assert_array_equal(got['head/kernel:0'], head)
        np.testing.assert_array_equal(got['dense/kernel:0'], self.source_values['old/dense/kernel'])
        self.assertEqual(hook.report.counts(), {'copy': 1, 'remap': 2}, msg=hook.report.table())

    def _train_once(self, hook, delta):
        """One MonitoredTrainingSession in model_dir; adds `delta` to emb; returns snapshot."""
        with tf.Graph().as_default():
            self._build()
            emb = tf.compat.v1.global_variables()[0]
            step = tf.compat.v1.assign_add(tf.compat.v1.train.get_global_step(), 1)
            update = tf.compat.v1.assign_add(emb, tf.fill(emb.shape, delta))
            snapshot = _Snapshot()
            with tf.compat.v1.train.MonitoredTrainingSession(
                checkpoint_dir=self.model_dir, hooks=[hook, snapshot]
            ) as sess:
                sess.run([update, step])
                after = sess.run(emb)
        return snapshot.values, after

    @parameterized.named_parameters(
        ('model_dir_unknown', False, False),
        ('model_dir_given', True, False),
        ('same_hook_instance', False, True),
    )
    def test_resume_keeps_own_checkpoint(self, give_model_dir, reuse):
        settings = warm_start_hooks.WarmStartSettings(self.source, *self._settings('vocab_rows'))
        model_dir = self.model_dir if give_model_dir else None
        first = warm_start_hooks.WarmStartHook(settings, model_dir=model_dir)
        start1, after1 = self._train_once(first, delta=1.0)
        expected_emb = _remapped_rows(self.source_values['emb'], OLD_WORDS, NEW_WORDS, 5)
        np.testing.assert_array_equal(start1['emb:0'], expected_emb)
        self.assertTrue(first.report.applied)

        latest = tf.train.latest_checkpoint(self.model_dir)
        if give_model_dir:
            # The source is not needed to resume.
            shutil.rmtree(self.source)
        second = first if reuse else warm_start_hooks.WarmStartHook(settings, model_dir=model_dir)
        start2, _ = self._train_once(second, delta=0.0)
        np.testing.assert_array_equal(start2['emb:0'], after1)
        np.testing.assert_array_equal(start2['emb:0'], expected_emb + 1.0)
        self.assertFalse(second.report.applied)
        self.assertEmpty(second.report.entries)
        if give_model_dir:
            self.assertEqual(
                second.report.skipped_reason, f'the model restored its own checkpoint {latest}'
            )
        else:
            self.assertIn('restored a checkpoint', second.report.skipped_reason)
        self.assertStartsWith(second.report.summary(), 'Warm start skipped:')

    def test_report_logged_once_per_run(self):
        settings = warm_start_hooks.WarmStartSettings(self.source, 'head.*')
        hook = warm_start_hooks.WarmStartHook(settings, model_dir=self.model_dir)
        quiet = warm_start_hooks.WarmStartHook(settings, log_report=False)
        with mock.patch.object(warm_start_hooks.WarmStartReport, 'log', autospec=True) as log:
            with tf.Graph().as_default():
                self._build()
                with tf.compat.v1.train.MonitoredTrainingSession(hooks=[hook, quiet]) as sess:
                    # A recovered session calls after_create_session again.
                    hook.after_create_session(sess, None)
            self.assertEqual(log.call_count, 1)
            self.assertIs(log.call_args[0][0], hook.report)
        self.assertEqual(quiet.report.counts(), {'copy': 1})

    def test_provenance_written_when_applied(self):
        out = self.create_tempdir().full_path
        hook = warm_start_hooks.WarmStartHook(
            warm_start_hooks.WarmStartSettings(self.source, 'head.*', provenance_dir=out)
        )
        self._values(False, hooks=[hook])
        self.assertTrue(os.path.exists(os.path.join(out, 'warm_start_provenance.json')))

    def test_planning_errors_raise_from_begin_and_change_nothing(self):
        settings = warm_start_hooks.WarmStartSettings(
            self.source, ['nomatch'], var_name_to_prev_var_name={'bogus': 'x'}
        )
        hook = warm_start_hooks.WarmStartHook(settings)  # Valid on its own.
        with tf.Graph().as_default() as graph:
            self._build()
            variables = tf.compat.v1.global_variables()
            initializers = [v.initializer for v in variables]
            ops = len(graph.get_operations())
            with self.assertRaises(warm_start_hooks.WarmStartError) as raised:
                hook.begin()
            self.assertLen(raised.exception.problems, 2)
            self.assertRegex(str(raised.exception), 'nomatch')
            self.assertRegex(str(raised.exception), 'bogus')
            self.assertLen(graph.get_operations(), ops)
            for v, init in zip(variables, initializers):
                self.assertIs(v.initializer, init)
            # Through a session: it fails before any session or checkpoint exists.
            with self.assertRaises(warm_start_hooks.WarmStartError):
                tf.compat.v1.train.MonitoredTrainingSession(
                    checkpoint_dir=self.model_dir, hooks=[hook]
                )
        self.assertIsNone(tf.train.latest_checkpoint(self.model_dir))
        self.assertIsNone(hook.report)

    def test_missing_source_raises_from_begin(self):
        hook = warm_start_hooks.WarmStartHook(os.path.join(self.source, 'nothing-here'))
        with tf.Graph().as_default():
            self._build()
            with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'No checkpoint found'):
                hook.begin()

    @parameterized.named_parameters(
        ('empty_path', '', {}, 'ckpt_to_initialize_from must be'),
        ('not_settings', 42, {}, 'settings must be a WarmStartSettings'),
        ('unknown_field', {'ckpt_to_initialize_from': 'x', 'bogus': 1}, {}, 'unknown settings'),
        ('bad_model_dir', 'ckpt', {'model_dir': 3}, 'model_dir must be'),
        ('bad_log_report', 'ckpt', {'log_report': 'yes'}, 'log_report must be'),
    )
    def test_init_rejects(self, settings, kwargs, message):
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, message):
            warm_start_hooks.WarmStartHook(settings, **kwargs)

    def test_init_lists_every_problem(self):
        settings = warm_start_hooks.WarmStartSettings(
            self.source,
            var_name_to_vocab_info={'emb': warm_start_hooks.VocabInfo('a', 1, 0, 'b', axis=2)},
            shape_policy='bad',
            on_missing='bad',
        )
        with self.assertRaises(warm_start_hooks.WarmStartError) as raised:
            warm_start_hooks.WarmStartHook(settings, model_dir=3)
        self.assertLen(raised.exception.problems, 4)
        self.assertRegex(str(raised.exception), 'WarmStartHook was not applied')

    def test_accepts_every_settings_form(self):
        forms = [
            self.source,
            {'ckpt_to_initialize_from': self.source, 'vars_to_warm_start': 'head.*'},
            warm_start_hooks.WarmStartSettings(self.source, 'head.*'),
        ]
        for form in forms:
            hook = warm_start_hooks.WarmStartHook(form)
            self.assertEqual(hook.settings.ckpt_to_initialize_from, self.source)


# ---- Estimator: TensorFlow <= 2.15 with tensorflow-estimator ---------------

EMB = 'dnn/input_from_feature_columns/input_layer/occ_embedding/embedding_weights'
LINEAR = 'linear/linear_model/occ/weights'
LOGITS = 'dnn/logits/kernel'


def _sgd(learning_rate):
    return tf.keras.optimizers.legacy.SGD(learning_rate=learning_rate)


def _model_fn(features, labels, mode, params):
    """y = x @ dense/kernel + dense/bias, trained by plain gradient descent."""
    kernel = tf.compat.v1.get_variable('dense/kernel', [2, 1])
    bias = tf.compat.v1.get_variable('dense/bias', [1], initializer=tf.zeros_initializer())
    y = tf.matmul(features['x'], kernel) + bias
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={'y': y})
    loss = tf.reduce_mean(tf.square(y - labels))
    if mode == tf.estimator.ModeKeys.EVAL:
        return tf.estimator.EstimatorSpec(mode, loss=loss)
    train_op = tf.compat.v1.train.GradientDescentOptimizer(params['lr']).minimize(
        loss, global_step=tf.compat.v1.train.get_global_step()
    )
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def _xy_input_fn():
    x = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
    y = np.array([[1.0], [0.5]], np.float32)
    return tf.data.Dataset.from_tensor_slices(({'x': x}, y)).batch(2)


@absltest.skipUnless(HAS_ESTIMATOR, NO_ESTIMATOR)
class EstimatorTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.root = self.create_tempdir().full_path
        self.old_vocab = testutil.write_lines(self.root, 'old_vocab.txt', OLD_WORDS)
        self.new_vocab = testutil.write_lines(self.root, 'new_vocab.txt', NEW_WORDS)
        self.old_classes = testutil.write_lines(self.root, 'old_classes.txt', OLD_CLASSES)
        self.new_classes = testutil.write_lines(self.root, 'new_classes.txt', NEW_CLASSES)
        self.dense_source = os.path.join(self.root, 'dense_source')
        testutil.save_v1_checkpoint(
            os.path.join(self.dense_source, 'model.ckpt'),
            {
                'dense/kernel': np.array([[0.5], [-2.0]], np.float32),
                'dense/bias': np.array([0.25], np.float32),
            },
            global_step=0,
        )

    def _config(self, name):
        return tf.estimator.RunConfig(
            model_dir=os.path.join(self.root, name),
            tf_random_seed=3,
            save_summary_steps=None,
            log_step_count_steps=None,
        )

    # -- canned estimators ------------------------------------------------
    def _canned(self, kind, name, new, optimizer, **kwargs):
        """A tiny canned classifier over the 'occ' feature (old or new vocabulary)."""
        vocab, words = (self.new_vocab, NEW_WORDS) if new else (self.old_vocab, OLD_WORDS)
        column = tf.feature_column.categorical_column_with_vocabulary_file(
            'occ', vocab, vocabulary_size=len(words)
        )
        embedding = tf.feature_column.embedding_column(column, dimension=2)
        config = self._config(name)
        if kind == 'linear':
            return tf.estimator.LinearClassifier(
                [column], n_classes=3, optimizer=optimizer, config=config, **kwargs
            )
        if kind == 'combined':
            return tf.estimator.DNNLinearCombinedClassifier(
                linear_feature_columns=[column],
                linear_optimizer=optimizer,
                dnn_feature_columns=[embedding],
                dnn_optimizer=optimizer,
                dnn_hidden_units=[3],
                n_classes=3,
                config=config,
                **kwargs,
            )
        return tf.estimator.DNNClassifier(
            [3], [embedding], n_classes=3, optimizer=optimizer, config=config, **kwargs
        )

    @staticmethod
    def _input_fn(classes):
        def input_fn():
            features = {'occ': [['nurse'], ['doctor'], ['consultant']]}
            labels = [[c] for c in classes] if classes else [[0], [1], [2]]
            return tf.data.Dataset.from_tensor_slices((features, labels)).batch(3)

        return input_fn

    def _vocab_info(self, axis):
        if axis == 0:
            return tf.estimator.VocabInfo(
                self.new_vocab, 5, 0, self.old_vocab, backup_initializer=_backup()
            )
        return tf.estimator.VocabInfo(
            self.new_classes, 3, 0, self.old_classes, backup_initializer=_backup(), axis=1
        )

    @parameterized.named_parameters(
        ('dnn_embedding', 'dnn', False, '.*', {EMB: 0}),
        ('linear_weights', 'linear', False, None, {LINEAR: 0}),
        ('dnn_linear_combined', 'combined', False, '.*', {EMB: 0, LINEAR: 0}),
        ('class_vocabulary_head', 'dnn', True, '^(?!dnn/logits/bias).*', {EMB: 0, LOGITS: 1}),
    )
    def test_matches_warm_start_from(self, kind, class_vocab, variables, remapped):
        old_kwargs = {'label_vocabulary': OLD_CLASSES} if class_vocab else {}
        new_kwargs = {'label_vocabulary': NEW_CLASSES} if class_vocab else {}
        source = self._canned(kind, 'source', False, _sgd(1.0), **old_kwargs)
        source.train(self._input_fn(OLD_CLASSES if class_vocab else None), max_steps=1)
        ws = tf.estimator.WarmStartSettings(
            source.model_dir, variables, {n: self._vocab_info(a) for n, a in remapped.items()}
        )
        input_fn = self._input_fn(NEW_CLASSES if class_vocab else None)

        theirs = self._canned(kind, 'theirs', True, _sgd(0.0), warm_start_from=ws, **new_kwargs)
        theirs.train(input_fn, max_steps=1)
        ours = wse.warm_started_estimator(
            self._canned(kind, 'ours', True, _sgd(0.0), **new_kwargs), ws
        )
        ours.train(input_fn, max_steps=1)

        self.assertEqual(ours.get_variable_names(), theirs.get_variable_names())
        for name in theirs.get_variable_names():
            np.testing.assert_array_equal(
                ours.get_variable_value(name), theirs.get_variable_value(name), err_msg=name
            )
        # And both equal the numpy oracle of the remap.
        for name, axis in remapped.items():
            old = source.get_variable_value(name)
            value = ours.get_variable_value(name)
            if axis == 0:
                expected = _remapped_rows(old, OLD_WORDS, NEW_WORDS, 5)
            else:
                expected = _remapped_rows(old.T, OLD_CLASSES, NEW_CLASSES, 3).T
            np.testing.assert_array_equal(value, expected, err_msg=name)

    def test_predict_and_evaluate_without_checkpoint_match_warm_start_from(self):
        # Estimator warm-starts predict() and evaluate() too when no checkpoint is restored.
        ws = tf.estimator.WarmStartSettings(self.dense_source)
        params = {'lr': 0.0}
        theirs = tf.estimator.Estimator(
            _model_fn, config=self._config('theirs'), params=params, warm_start_from=ws
        )
        fn = wse.with_warm_start(_model_fn, ws)
        ours = tf.estimator.Estimator(fn, config=self._config('ours'), params=params)
        plain = tf.estimator.Estimator(_model_fn, config=self._config('plain'), params=params)

        def predict(estimator, **kwargs):
            return np.array([p['y'] for p in estimator.predict(_xy_input_fn, **kwargs)])

        expected = predict(theirs)
        np.testing.assert_array_equal(predict(ours), expected)
        np.testing.assert_array_equal(expected, [[-3.25], [3.75]])  # x @ [.5, -2] + .25
        self.assertTrue(fn.report.applied)
        # The hook passed to predict()/evaluate() of a plain Estimator does the same.
        hook = warm_start_hooks.WarmStartHook(ws, model_dir=plain.model_dir)
        np.testing.assert_array_equal(predict(plain, hooks=[hook]), expected)
        self.assertTrue(hook.report.applied)
        loss = theirs.evaluate(_xy_input_fn, steps=1)['loss']
        self.assertEqual(ours.evaluate(_xy_input_fn, steps=1)['loss'], loss)
        self.assertEqual(plain.evaluate(_xy_input_fn, steps=1, hooks=[hook])['loss'], loss)
        self.assertNotEqual(plain.evaluate(_xy_input_fn, steps=1)['loss'], loss)

    def test_modes_limit_where_it_warm_starts(self):
        fn = wse.with_warm_start(_model_fn, self.dense_source, modes=['train'])
        ours = tf.estimator.Estimator(fn, config=self._config('ours'), params={'lr': 0.0})
        plain = tf.estimator.Estimator(_model_fn, config=self._config('plain'), params={'lr': 0.0})
        got = [p['y'] for p in ours.predict(_xy_input_fn)]
        np.testing.assert_array_equal(got, [p['y'] for p in plain.predict(_xy_input_fn)])
        self.assertIsNone(fn.report)

    @parameterized.named_parameters(('ours', False), ('warm_start_from', True))
    def test_second_train_keeps_first_run_values(self, tf_own):
        ws = tf.estimator.WarmStartSettings(self.dense_source, '.*')
        config = self._config('model')
        if tf_own:
            estimator = tf.estimator.Estimator(
                _model_fn, config=config, params={'lr': 0.1}, warm_start_from=ws
            )
        else:
            fn = wse.with_warm_start(_model_fn, ws)
            estimator = tf.estimator.Estimator(fn, config=config, params={'lr': 0.1})
        first, second = _Snapshot(), _Snapshot()
        estimator.train(_xy_input_fn, max_steps=1, hooks=[first])
        np.testing.assert_array_equal(first.values['dense/kernel:0'], [[0.5], [-2.0]])
        trained = estimator.get_variable_value('dense/kernel')
        self.assertFalse(np.array_equal(trained, [[0.5], [-2.0]]))
        if not tf_own:
            self.assertTrue(fn.report.applied)

        estimator.train(_xy_input_fn, steps=1, hooks=[second])
        np.testing.assert_array_equal(second.values['dense/kernel:0'], trained)
        if not tf_own:
            latest = os.path.join(config.model_dir, 'model.ckpt-1')
            self.assertEqual(
                fn.report.skipped_reason, f'the model restored its own checkpoint {latest}'
            )

    def test_train_and_evaluate(self):
        estimator = tf.estimator.Estimator(
            _model_fn, config=self._config('model'), params={'lr': 0.0}
        )
        hook = warm_start_hooks.WarmStartHook(self.dense_source)
        metrics, _ = tf.estimator.train_and_evaluate(
            estimator,
            tf.estimator.TrainSpec(_xy_input_fn, max_steps=1, hooks=[hook]),
            tf.estimator.EvalSpec(_xy_input_fn, steps=1, throttle_secs=0),
        )
        self.assertTrue(hook.report.applied)
        self.assertEqual(hook.report.names('copy'), ['dense/kernel', 'dense/bias'])
        np.testing.assert_array_equal(estimator.get_variable_value('dense/kernel'), [[0.5], [-2]])
        np.testing.assert_array_equal(estimator.get_variable_value('dense/bias'), [0.25])
        # Loss of y = x @ [.5, -2] + .25 against [1, .5]: mean((-4.25)^2, 3.25^2).
        self.assertAlmostEqual(metrics['loss'], (4.25**2 + 3.25**2) / 2, places=5)

    def test_planning_error_raises_before_training(self):
        estimator = wse.warm_started_estimator(
            tf.estimator.Estimator(_model_fn, config=self._config('model'), params={'lr': 0.1}),
            warm_start_hooks.WarmStartSettings(self.dense_source, 'nomatch'),
        )
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'nomatch'):
            estimator.train(_xy_input_fn, max_steps=1)
        self.assertIsNone(tf.train.latest_checkpoint(estimator.model_dir))

    def test_warm_started_estimator_lists_every_problem(self):
        already = tf.estimator.Estimator(
            _model_fn, config=self._config('a'), warm_start_from=self.dense_source
        )
        with self.assertRaises(warm_start_hooks.WarmStartError) as raised:
            wse.warm_started_estimator(already, '', modes=['training'])
        problems = '\n'.join(raised.exception.problems)
        self.assertLen(raised.exception.problems, 3, msg=problems)
        self.assertIn('already has warm_start_from', problems)
        self.assertIn('modes must hold', problems)
        self.assertIn('ckpt_to_initialize_from must be', problems)
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'must be a tf.estimator'):
            wse.warm_started_estimator(object(), self.dense_source)

    def test_model_fn_without_labels_rejects_labels(self):
        def no_labels(features, mode):
            del features, mode
            raise AssertionError('not called')

        fn = wse.with_warm_start(no_labels, self.dense_source)
        with self.assertRaisesRegex(ValueError, 'does not take labels'):
            fn({}, [1.0], 'train', {}, None)


@absltest.skipIf(HAS_ESTIMATOR, 'tf.estimator is available here.')
class FrameworkMissingTest(absltest.TestCase):
    def test_estimator_helpers_raise(self):
        for call in (
            lambda: wse.warm_started_estimator(object(), 'ckpt'),
            lambda: wse.with_warm_start(lambda features: None, 'ckpt'),
        ):
            with self.assertRaisesRegex(
                warm_start_hooks.FrameworkMissingError,
                r'tf.estimator needs TensorFlow <= 2.15 and tensorflow-estimator; found '
                rf'TensorFlow {tf.__version__}.*MonitoredTrainingSession.*Received: ',
            ):
                call()

    def test_hook_needs_no_estimator(self):
        self.assertIs(warm_start_hooks.WarmStartHook, wse.WarmStartHook)
        self.assertTrue(issubclass(wse.WarmStartHook, tf.compat.v1.train.SessionRunHook))


if __name__ == '__main__':
    absltest.main()
