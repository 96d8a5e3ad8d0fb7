"""Tests for warm_start_hooks.estimator: the Estimator helpers around WarmStartHook.

`with_warm_start`, `warm_started_estimator` and `WarmStartHook` in an
Estimator need tf.estimator (TensorFlow <= 2.15 with tensorflow-estimator);
`FrameworkMissingTest` runs where it is missing. Results are compared with
TensorFlow's own warm start (`tf.compat.v1.train.warm_start`, Estimator's
`warm_start_from`) value for value. The hook itself, in a
`MonitoredTrainingSession` on every TensorFlow, is tested in hook_test.
"""

import os

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
                expected = testutil.remapped_rows(old, OLD_WORDS, NEW_WORDS, 5, BACKUP)
            else:
                expected = testutil.remapped_rows(old.T, OLD_CLASSES, NEW_CLASSES, 3, BACKUP).T
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
        first, second = testutil.Snapshot(), testutil.Snapshot()
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

    @parameterized.named_parameters(
        ('number', 3, r'Received: modes=\(3,\)'),
        ('none', None, r'Received: modes=\(None,\)'),
        ('nested', [['train']], r"Received: modes=\(\['train'\],\)"),
    )
    def test_modes_of_the_wrong_form(self, modes, pattern):
        with self.assertRaisesRegex(
            warm_start_hooks.WarmStartError, 'modes must hold .*' + pattern
        ):
            wse.with_warm_start(_model_fn, self.dense_source, modes=modes)

    def test_model_fn_without_labels_rejects_labels(self):
        def no_labels(features, mode):
            del features, mode
            raise AssertionError('not called')

        fn = wse.with_warm_start(no_labels, self.dense_source)
        with self.assertRaisesRegex(ValueError, 'does not take labels'):
            fn({}, [1.0], 'train', {}, None)


# ---- tensorflow_estimator's own warm-start scenarios -------------------------

CITY_EMB = 'dnn/input_from_feature_columns/input_layer/city_embedding/embedding_weights'
OCC_EMB = 'dnn/input_from_feature_columns/input_layer/occupation_embedding/embedding_weights'
AGE_WEIGHT = 'linear/linear_model/age/weights'
OCC_WEIGHT = 'linear/linear_model/occupation/weights'
LINEAR_BIAS = 'linear/linear_model/bias_weights'
CITIES = ['Mountain View', 'Palo Alto']


def _fc_input_fn():
    features = {
        'age': [[23.0], [31.0]],
        'age_in_years': [[23.0], [31.0]],
        'city': [['Palo Alto'], ['Mountain View']],
        'locality': [['Palo Alto'], ['Mountain View']],
        'occupation': [['doctor'], ['consultant']],
    }
    return features, [0, 1]


def _city(name='city'):
    column = tf.feature_column.categorical_column_with_vocabulary_list(name, CITIES)
    return tf.feature_column.embedding_column(column, dimension=5)


def _frozen_sgd(v1_optimizer=False):
    """Learning rate 0 (and no accumulators): a step leaves the warm-started values as they are."""
    if v1_optimizer:
        return tf.compat.v1.train.GradientDescentOptimizer(learning_rate=0.0)
    return tf.keras.optimizers.legacy.SGD(learning_rate=0.0)


@absltest.skipUnless(HAS_ESTIMATOR, NO_ESTIMATOR)
class CannedWarmStartParityTest(parameterized.TestCase):
    """The warm-start tests of tensorflow_estimator's canned Estimators, both ways.

    Each scenario (dnn_testing_utils.BaseDNNWarmStartingTest,
    linear_testing_utils.BaseLinearWarmStartingTest,
    dnn_linear_combined_test.DNNLinearCombinedWarmStartingTest) trains a source
    for one step, then trains the new Estimator for one step at learning rate 0
    twice: with `warm_start_from=` (TensorFlow) and with
    `warm_started_estimator` (ours). Every variable must be equal, and the
    scenario's own expectations hold for ours.
    """

    def setUp(self):
        super().setUp()
        self.root = self.create_tempdir().full_path

    def _config(self, name):
        # One graph seed: variables that are not warm-started start equal in both.
        return tf.estimator.RunConfig(
            model_dir=os.path.join(self.root, name),
            tf_random_seed=3,
            save_summary_steps=None,
            log_step_count_steps=None,
        )

    def _run(self, make, settings):
        """Trains the source; returns (source, TensorFlow's, ours), each after one step."""
        source = make(self._config('source'), 'SGD', None)
        source.train(_fc_input_fn, max_steps=1)
        ws = settings(source.model_dir) if callable(settings) else settings
        theirs = make(self._config('theirs'), _frozen_sgd(), ws)
        theirs.train(_fc_input_fn, max_steps=1)
        ours = wse.warm_started_estimator(make(self._config('ours'), _frozen_sgd(), None), ws)
        ours.train(_fc_input_fn, max_steps=1)
        self.assertEqual(ours.get_variable_names(), theirs.get_variable_names())
        for name in theirs.get_variable_names():
            np.testing.assert_array_equal(
                ours.get_variable_value(name), theirs.get_variable_value(name), err_msg=name
            )
        return source, theirs, ours

    def _assert_all_copied(self, source, ours):
        for name in ours.get_variable_names():
            if 'learning_rate' in name:
                self.assertEqual(ours.get_variable_value(name), 0.0)
            else:
                np.testing.assert_array_equal(
                    ours.get_variable_value(name), source.get_variable_value(name), err_msg=name
                )

    @parameterized.named_parameters(
        ('classifier', True, False),
        ('regressor', False, False),
        ('classifier_v1', True, True),  # dnn_testing_utils_v1: the TF1 classes and optimizers.
        ('regressor_v1', False, True),
    )
    def test_dnn_basic_warm_starting(self, classifier, v1):
        estimators = tf.compat.v1.estimator if v1 else tf.estimator

        def make(config, optimizer, ws):
            if v1 and optimizer != 'SGD':
                optimizer = _frozen_sgd(v1_optimizer=True)
            kwargs = dict(hidden_units=[16, 8], feature_columns=[_city()], config=config)
            if classifier:
                return estimators.DNNClassifier(
                    n_classes=4, optimizer=optimizer, warm_start_from=ws, **kwargs
                )
            return estimators.DNNRegressor(optimizer=optimizer, warm_start_from=ws, **kwargs)

        source, _, ours = self._run(make, lambda source_dir: source_dir)
        self._assert_all_copied(source, ours)

    def test_dnn_selective_variables(self):
        def make(config, optimizer, ws):
            return tf.estimator.DNNClassifier(
                [16, 8],
                [_city()],
                n_classes=4,
                optimizer=optimizer,
                config=config,
                warm_start_from=ws,
            )

        source, _, ours = self._run(
            make, lambda d: tf.estimator.WarmStartSettings(d, vars_to_warm_start='.*(city).*')
        )
        for name in ours.get_variable_names():
            value = ours.get_variable_value(name)
            if 'city' in name:
                np.testing.assert_array_equal(value, source.get_variable_value(name))
            elif 'bias' in name:
                np.testing.assert_array_equal(value, np.zeros_like(value))
            elif 'kernel' in name:
                self.assertFalse(np.allclose(value, source.get_variable_value(name)), name)

    def _occupation(self, words, name):
        path = testutil.write_lines(self.root, name, words)
        return tf.feature_column.categorical_column_with_vocabulary_file(
            'occupation', path, vocabulary_size=len(words)
        )

    def test_dnn_vocab_remapping(self):
        old = self._occupation(['doctor', 'lawyer', 'consultant'], 'occupation_vocab')
        new = self._occupation(['doctor', 'consultant', 'engineer'], 'new_occupation_vocab')
        info = tf.estimator.VocabInfo(
            new.vocabulary_file,
            new.vocabulary_size,
            new.num_oov_buckets,
            old.vocabulary_file,
            old.vocabulary_size,
            backup_initializer=tf.compat.v1.initializers.random_uniform(0.39, 0.39),
        )

        def make(config, optimizer, ws):
            column = old if ws is None and optimizer == 'SGD' else new
            embedding = tf.feature_column.embedding_column(column, dimension=2)
            return tf.estimator.DNNClassifier(
                [16, 8],
                [embedding],
                n_classes=4,
                optimizer=optimizer,
                config=config,
                warm_start_from=ws,
            )

        source, _, ours = self._run(
            make,
            lambda d: tf.estimator.WarmStartSettings(
                d, vars_to_warm_start=None, var_name_to_vocab_info={OCC_EMB: info}
            ),
        )
        old_emb, emb = source.get_variable_value(OCC_EMB), ours.get_variable_value(OCC_EMB)
        np.testing.assert_array_equal(emb[0], old_emb[0])  # doctor: 0 -> 0
        np.testing.assert_array_equal(emb[1], old_emb[2])  # consultant: 2 -> 1
        np.testing.assert_allclose(emb[2], [0.39, 0.39])  # engineer: new
        for name in ours.get_variable_names():
            value = ours.get_variable_value(name)
            if 'bias' in name:
                np.testing.assert_array_equal(value, np.zeros_like(value))
            elif 'kernel' in name:
                self.assertFalse(np.allclose(value, source.get_variable_value(name)), name)

    def test_dnn_naming_change(self):
        def make(config, optimizer, ws):
            column = _city('locality') if optimizer == 'SGD' else _city()
            return tf.estimator.DNNClassifier(
                [16, 8],
                [column],
                n_classes=4,
                optimizer=optimizer,
                config=config,
                warm_start_from=ws,
            )

        old_name = CITY_EMB.replace('city', 'locality')
        source, _, ours = self._run(
            make,
            lambda d: tf.estimator.WarmStartSettings(
                d, var_name_to_prev_var_name={CITY_EMB: old_name}
            ),
        )
        for name in ours.get_variable_names():
            value = ours.get_variable_value(name)
            if 'city' in name:
                np.testing.assert_array_equal(value, source.get_variable_value(old_name))
            elif 'learning_rate' not in name:
                np.testing.assert_array_equal(value, source.get_variable_value(name), name)

    @parameterized.named_parameters(('copy', False), ('vocab_remap', True))
    def test_export_before_training(self, remap):
        # warm_started_estimator exports what training would start from: TensorFlow's
        # warm-started values. TensorFlow's own export restores the source checkpoint as it
        # is, which is the same for plain copies, and not remapped for a vocabulary.
        old = self._occupation(['doctor', 'lawyer', 'consultant'], 'occupation_vocab')
        new = self._occupation(['doctor', 'consultant', 'engineer'], 'new_occupation_vocab')

        def make(config, optimizer, ws):
            column = new if remap and optimizer != 'SGD' else old
            embedding = tf.feature_column.embedding_column(column, dimension=2)
            return tf.estimator.DNNClassifier(
                [16, 8],
                [embedding],
                n_classes=4,
                optimizer=optimizer,
                config=config,
                warm_start_from=ws,
            )

        def settings(source_dir):
            if not remap:
                return source_dir
            info = tf.estimator.VocabInfo(
                new.vocabulary_file,
                3,
                0,
                old.vocabulary_file,
                backup_initializer=tf.compat.v1.initializers.random_uniform(0.39, 0.39),
            )
            return tf.estimator.WarmStartSettings(source_dir, '.*', {OCC_EMB: info})

        source, theirs, _ = self._run(make, settings)
        ws = settings(source.model_dir)
        spec = tf.feature_column.make_parse_example_spec([new if remap else old])
        receiver = tf.estimator.export.build_parsing_serving_input_receiver_fn(spec)
        base = os.path.join(self.root, 'export')
        ours = wse.warm_started_estimator(
            make(self._config('ours_export'), _frozen_sgd(), None), ws
        )
        exported = _exported_values(ours.export_saved_model(base, receiver))
        self.assertIsNone(ours.latest_checkpoint())
        tf_export = make(self._config('theirs_export'), _frozen_sgd(), ws)
        tf_exported = _exported_values(tf_export.export_saved_model(base, receiver))
        self.assertEqual(sorted(exported), sorted(tf_exported))
        self.assertEqual(exported.pop('global_step'), 0)  # TensorFlow: the source's, 1.
        for name, value in exported.items():
            # TensorFlow's warm-started values, as its train() starts from them.
            np.testing.assert_array_equal(value, theirs.get_variable_value(name), name)
            if not remap or name != OCC_EMB:
                np.testing.assert_array_equal(value, tf_exported[name], name)
        if remap:
            np.testing.assert_array_equal(tf_exported[OCC_EMB], source.get_variable_value(OCC_EMB))
            self.assertFalse(np.array_equal(exported[OCC_EMB], tf_exported[OCC_EMB]))

    @parameterized.named_parameters(('classifier', True), ('regressor', False))
    def test_linear_basic_warm_starting(self, classifier):
        age = tf.feature_column.numeric_column('age')

        def make(config, optimizer, ws):
            if classifier:
                return tf.estimator.LinearClassifier(
                    [age], n_classes=4, optimizer=optimizer, config=config, warm_start_from=ws
                )
            return tf.estimator.LinearRegressor(
                [age], optimizer=optimizer, config=config, warm_start_from=ws
            )

        source, _, ours = self._run(make, lambda d: d)
        self._assert_all_copied(source, ours)

    def test_linear_selective_variables(self):
        age = tf.feature_column.numeric_column('age')

        def make(config, optimizer, ws):
            return tf.estimator.LinearClassifier(
                [age], n_classes=4, optimizer=optimizer, config=config, warm_start_from=ws
            )

        source, _, ours = self._run(
            make, lambda d: tf.estimator.WarmStartSettings(d, vars_to_warm_start='.*(age).*')
        )
        np.testing.assert_array_equal(
            ours.get_variable_value(AGE_WEIGHT), source.get_variable_value(AGE_WEIGHT)
        )
        np.testing.assert_array_equal(ours.get_variable_value(LINEAR_BIAS), [0.0] * 4)

    @parameterized.named_parameters(('v2', None), ('v1_two_partitions', 2))
    def test_linear_vocab_remapping_and_partitioning(self, parts):
        old = self._occupation(['doctor', 'lawyer', 'consultant'], 'occupation_vocab')
        new = self._occupation(['doctor', 'consultant', 'engineer'], 'new_occupation_vocab')
        info = tf.estimator.VocabInfo(
            new.vocabulary_file,
            new.vocabulary_size,
            new.num_oov_buckets,
            old.vocabulary_file,
            old.vocabulary_size,
            backup_initializer=tf.compat.v1.initializers.random_uniform(0.39, 0.39),
        )

        def make(config, optimizer, ws):
            column = old if ws is None and optimizer == 'SGD' else new
            if parts is None:
                return tf.estimator.LinearClassifier(
                    [column], n_classes=4, optimizer=optimizer, config=config, warm_start_from=ws
                )
            return tf.compat.v1.estimator.LinearClassifier(
                [column],
                n_classes=4,
                config=config,
                optimizer=_frozen_sgd(True) if optimizer != 'SGD' else 'SGD',
                warm_start_from=ws,
                partitioner=tf.compat.v1.fixed_size_partitioner(parts),
            )

        source, _, ours = self._run(
            make,
            lambda d: tf.estimator.WarmStartSettings(
                d, vars_to_warm_start=None, var_name_to_vocab_info={OCC_WEIGHT: info}
            ),
        )
        old_w, w = source.get_variable_value(OCC_WEIGHT), ours.get_variable_value(OCC_WEIGHT)
        np.testing.assert_array_equal(w[0], old_w[0])
        np.testing.assert_array_equal(w[1], old_w[2])
        np.testing.assert_allclose(w[2], [0.39] * 4)
        np.testing.assert_array_equal(ours.get_variable_value(LINEAR_BIAS), [0.0] * 4)

    def test_linear_naming_change(self):
        def make(config, optimizer, ws):
            column = tf.feature_column.numeric_column(
                'age_in_years' if ws is None and optimizer == 'SGD' else 'age'
            )
            return tf.estimator.LinearClassifier(
                [column], n_classes=4, optimizer=optimizer, config=config, warm_start_from=ws
            )

        old_name = AGE_WEIGHT.replace('age', 'age_in_years')
        source, _, ours = self._run(
            make,
            lambda d: tf.estimator.WarmStartSettings(
                d, var_name_to_prev_var_name={AGE_WEIGHT: old_name}
            ),
        )
        np.testing.assert_array_equal(
            ours.get_variable_value(AGE_WEIGHT), source.get_variable_value(old_name)
        )
        np.testing.assert_array_equal(
            ours.get_variable_value(LINEAR_BIAS), source.get_variable_value(LINEAR_BIAS)
        )

    @parameterized.named_parameters(
        ('classifier_basic', True, None),
        ('regressor_basic', False, None),
        ('classifier_selective', True, '.*(dnn).*'),
    )
    def test_dnn_linear_combined(self, classifier, variables):
        age = tf.feature_column.numeric_column('age')

        def make(config, optimizer, ws):
            if optimizer != 'SGD':
                optimizer = _frozen_sgd(v1_optimizer=True)
            kwargs = dict(
                linear_feature_columns=[age],
                dnn_feature_columns=[_city()],
                dnn_hidden_units=[16, 8],
                config=config,
                linear_optimizer=optimizer,
                dnn_optimizer=optimizer,
                warm_start_from=ws,
            )
            # As dnn_linear_combined_test: the TF1 classes, with TF1 optimizers.
            if classifier:
                return tf.compat.v1.estimator.DNNLinearCombinedClassifier(n_classes=4, **kwargs)
            return tf.compat.v1.estimator.DNNLinearCombinedRegressor(**kwargs)

        settings = (
            (lambda d: d)
            if variables is None
            else (lambda d: tf.estimator.WarmStartSettings(d, vars_to_warm_start=variables))
        )
        source, _, ours = self._run(make, settings)
        for name in ours.get_variable_names():
            value = ours.get_variable_value(name)
            if variables is None or 'dnn' in name:
                np.testing.assert_array_equal(value, source.get_variable_value(name), name)
            elif 'linear' in name:
                np.testing.assert_array_equal(value, np.zeros_like(value), name)


def _exported_values(export_dir):
    reader = tf.train.load_checkpoint(
        os.path.join(os.fsdecode(export_dir), 'variables', 'variables')
    )
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def _x_model_fn(x, resource=False, export=False):
    """estimator_test.py's model: one variable `x` initialised to `x`, a step counter."""

    def model_fn(features, labels, mode):
        del features, labels
        if resource:
            var = tf.Variable([[x]], name='x')
        else:
            var = tf.compat.v1.get_variable('x', initializer=x)
        step = tf.compat.v1.train.get_global_step()
        kwargs = {}
        if export:
            kwargs['export_outputs'] = {
                'test': tf.estimator.export.ClassificationOutput(
                    tf.constant([4.2]), tf.constant(['label'])
                )
            }
        return tf.estimator.EstimatorSpec(
            mode,
            predictions=tf.math.add(var, 1.0),
            loss=tf.constant(1.0),
            train_op=tf.compat.v1.assign_add(step, 1),
            eval_metric_ops={'mean': tf.compat.v1.metrics.mean(var + 1.0)},
            **kwargs,
        )

    return model_fn


def _dummy_input_fn():
    return {'x': tf.constant([[1], [1]])}, tf.constant([[1], [1]])


def _serving_input_fn():
    spec = {'x': tf.io.VarLenFeature(tf.int64), 'y': tf.io.VarLenFeature(tf.int64)}
    return tf.estimator.export.build_parsing_serving_input_receiver_fn(spec)


@absltest.skipUnless(HAS_ESTIMATOR, NO_ESTIMATOR)
class EstimatorWarmStartParityTest(parameterized.TestCase):
    """estimator_test.py's warm-start scenarios, with `warm_start_from` as the oracle."""

    def setUp(self):
        super().setUp()
        self.root = self.create_tempdir().full_path

    def _estimator(self, name, model_fn, warm_start_from=None):
        config = tf.estimator.RunConfig(
            model_dir=os.path.join(self.root, name),
            save_summary_steps=None,
            log_step_count_steps=None,
        )
        return tf.estimator.Estimator(model_fn, config=config, warm_start_from=warm_start_from)

    def _both(self, make_model_fn, source):
        """(TensorFlow's, ours) Estimators warm-started from `source`."""
        theirs = self._estimator('theirs', make_model_fn(), warm_start_from=source)
        ours = wse.warm_started_estimator(self._estimator('ours', make_model_fn()), source)
        return theirs, ours

    def _source(self, resource=False, steps=10):
        source = self._estimator('source', _x_model_fn(42.0, resource, export=True))
        source.train(_dummy_input_fn, steps=steps)
        return source

    def _export(self, estimator):
        base = os.path.join(tf.compat.as_bytes(self.root), b'export')
        return estimator.export_saved_model(base, _serving_input_fn())

    def test_warm_starts(self):
        source = self._source()
        theirs, ours = self._both(lambda: _x_model_fn(36.0), source.model_dir)
        for estimator in (theirs, ours):
            estimator.train(_dummy_input_fn, steps=5)
            self.assertEqual(estimator.get_variable_value('x'), 42.0)
            # global_step is not warm-started.
            self.assertEqual(estimator.get_variable_value('global_step'), 5)

    def test_warm_starts_from_saved_model_bytes_path(self):
        exported = self._export(self._source())
        self.assertIsInstance(exported, bytes)
        theirs, ours = self._both(lambda: _x_model_fn(36.0, export=True), exported)
        for estimator in (theirs, ours):
            estimator.train(_dummy_input_fn, steps=5)
            self.assertEqual(estimator.get_variable_value('x'), 42.0)

    @parameterized.named_parameters(
        ('evaluate_saved_model', 'evaluate', True, False),
        ('evaluate_model_dir', 'evaluate', False, False),
        ('predict_saved_model_resource', 'predict', True, True),
        ('predict_model_dir_resource', 'predict', False, True),
    )
    def test_no_checkpoint_uses_init_with_warm_starting(self, call, saved_model, resource):
        source = self._source(resource)
        path = self._export(source) if saved_model else source.model_dir
        theirs, ours = self._both(lambda: _x_model_fn(52.0, resource, export=True), path)
        for estimator in (theirs, ours):
            if call == 'evaluate':
                self.assertEqual(estimator.evaluate(_dummy_input_fn, steps=1)['mean'], 43.0)
            else:
                self.assertEqual(next(estimator.predict(_dummy_input_fn)), 43.0)
            self.assertIsNone(estimator.latest_checkpoint())

    def test_export_from_warm_start(self):
        source = self._source()
        theirs, ours = self._both(lambda: _x_model_fn(36.0), source.model_dir)
        exports = [self._export(e) for e in (theirs, ours)]
        values = [
            tf.train.load_checkpoint(os.path.join(os.fsdecode(e), 'variables', 'variables'))
            for e in exports
        ]
        self.assertEqual(values[1].get_tensor('x'), 42.0)
        self.assertEqual(values[1].get_tensor('x'), values[0].get_tensor('x'))
        # TensorFlow exports the source's step; ours exports the step training starts from.
        self.assertEqual(values[0].get_tensor('global_step'), 10)
        self.assertEqual(values[1].get_tensor('global_step'), 0)
        # Nothing was trained or saved in model_dir.
        self.assertIsNone(ours.latest_checkpoint())

    def test_missing_source_is_not_found_as_in_tensorflow(self):
        missing = os.path.join(self.root, 'nothing', 'here')
        theirs, ours = self._both(lambda: _x_model_fn(36.0), missing)
        with self.assertRaises(tf.errors.NotFoundError):
            theirs.train(_dummy_input_fn, steps=1)
        for catch in (tf.errors.NotFoundError, warm_start_hooks.WarmStartError):
            with self.assertRaises(catch):
                ours.train(_dummy_input_fn, steps=1)
        self.assertIsNone(ours.latest_checkpoint())


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
