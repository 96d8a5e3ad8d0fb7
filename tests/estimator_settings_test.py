"""Tests of `warm_start_from=` settings (`warm_start_hooks._estimator_settings`).

The refusals are checked on every TensorFlow; the Estimator tests need
tf.estimator and compare an Estimator built with
`warm_start_from=tf_warm_start_settings(settings)` (TensorFlow's own warm
start) with `warm_started_estimator(estimator, settings)`, value for value,
and both with a numpy oracle of the vocabulary remap.
"""

import os

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh
from warm_start_hooks import _estimator_settings
from warm_start_hooks import estimator as wse


def _has_estimator():
    try:
        return tf.estimator.Estimator is not None
    except (AttributeError, ImportError):
        return False


HAS_ESTIMATOR = _has_estimator()
NO_ESTIMATOR = 'tf.estimator needs TensorFlow <= 2.15 and tensorflow-estimator'

OLD_WORDS = ['doctor', 'lawyer', 'consultant', 'nurse']
NEW_WORDS = ['nurse', 'consultant', 'engineer', 'doctor', 'pilot']
EMB = 'dnn/input_from_feature_columns/input_layer/occ_embedding/embedding_weights'
LINEAR = 'linear/linear_model/occ/weights'


def _write_lines(directory, name, lines):
    path = os.path.join(directory, name)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def _name_based(prefix, values):
    """A name-based checkpoint of name -> array, as a Saver writes it."""
    with tf.Graph().as_default():
        for name, value in values.items():
            tf.compat.v1.get_variable(name, initializer=tf.constant(value))
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return tf.compat.v1.train.Saver().save(session, prefix)


class DifferencesTest(parameterized.TestCase):
    """What TensorFlow's warm start would drop or do differently is refused."""

    def setUp(self):
        super().setUp()
        root = self.create_tempdir().full_path
        self.source = _name_based(os.path.join(root, 'model.ckpt'), {'w': np.ones(2, np.float32)})
        self.old_vocab = _write_lines(root, 'old.txt', OLD_WORDS)
        self.new_vocab = _write_lines(root, 'new.txt', NEW_WORDS)

    def _vocab(self, **kwargs):
        fields = dict(new_vocab=self.new_vocab, new_vocab_size=5, num_oov_buckets=0)
        fields.update(old_vocab=self.old_vocab, **kwargs)
        return {'emb': wsh.VocabInfo(**fields)}

    def test_tensorflow_fields_only(self):
        settings = wsh.WarmStartSettings(
            self.source,
            ['dense/.*', 'global_step'],
            self._vocab(axis=1),
            {'dense/kernel': 'old/kernel'},
            rules=[],  # Empty, as by default.
        )
        self.assertEmpty(_estimator_settings.differences(settings))

    @parameterized.named_parameters(
        ('collection', {'collection': 'all'}, 'collection is an option of this library'),
        ('rules', {'rules': [('a', 'b')]}, 'rules is an option'),
        ('shape_policy', {'shape_policy': 'skip'}, 'shape_policy is an option'),
        ('dtype_policy', {'dtype_policy': 'cast'}, 'dtype_policy is an option'),
        ('on_missing', {'on_missing': 'skip'}, 'on_missing is an option'),
        ('strict', {'strict': True}, 'strict is an option'),
        ('include_slots', {'include_slots': True}, 'include_slots is an option'),
        ('remap_backend', {'remap_backend': 'tf_ops'}, 'remap_backend is an option'),
        ('max_bytes', {'max_bytes_in_memory': 1 << 20}, 'max_bytes_in_memory is an option'),
        ('provenance_dir', {'provenance_dir': '/tmp/p'}, 'provenance_dir is an option'),
        ('regex_global_step', {'vars_to_warm_start': ['.*']}, "pattern '.\\*' matches global"),
        ('variables', {'vars_to_warm_start': [tf.Variable(1.0)]}, 'variable objects cannot'),
    )
    def test_settings_refused(self, fields, message):
        fields = {'vars_to_warm_start': '.*', **fields}
        problems = _estimator_settings.differences(wsh.WarmStartSettings(self.source, **fields))
        self.assertLen(problems, 1)
        self.assertRegex(problems[0], message)
        self.assertRegex(problems[0], 'Received: ')

    @parameterized.named_parameters(
        ('new_row_init', {'new_row_init': 'mean'}, 'new_row_init is an option'),
        ('seed', {'seed': 3}, 'seed is an option'),
        ('backup', {'backup_initializer': tf.ones_initializer()}, 'flattened shape'),
        ('old_size_axis_1', {'axis': 1, 'old_vocab_size': 3}, 'ignores old_vocab_size on axis 1'),
    )
    def test_vocab_info_refused(self, fields, message):
        settings = wsh.WarmStartSettings(self.source, var_name_to_vocab_info=self._vocab(**fields))
        problems = _estimator_settings.differences(settings)
        self.assertLen(problems, 1)
        self.assertRegex(problems[0], f"VocabInfo for 'emb': .*{message}")

    def test_in_memory_vocabulary_refused(self):
        info = wsh.VocabInfo(NEW_WORDS, 5, 0, self.old_vocab)
        settings = wsh.WarmStartSettings(self.source, var_name_to_vocab_info={'emb': info})
        (problem,) = _estimator_settings.differences(settings)
        self.assertRegex(problem, 'from files only.*new_vocab of 5 tokens')

    def test_object_based_checkpoint_refused(self):
        module = tf.Module()
        module.w = tf.Variable([1.0, 2.0])
        prefix = tf.train.Checkpoint(model=module).save(
            os.path.join(self.create_tempdir().full_path, 'ckpt')
        )
        (problem,) = _estimator_settings.differences(wsh.WarmStartSettings(prefix))
        self.assertRegex(problem, 'object-based checkpoint.*warm_started_estimator')

    def test_missing_checkpoint_refused(self):
        missing = os.path.join(self.create_tempdir().full_path, 'nothing')
        (problem,) = _estimator_settings.differences(wsh.WarmStartSettings(missing))
        self.assertIn('No checkpoint found', problem)

    def test_every_problem_at_once(self):
        settings = wsh.WarmStartSettings(
            self.source,
            ['.*'],
            self._vocab(new_row_init='mean'),
            rules=[('a', None)],
            include_slots=True,
        )
        self.assertLen(_estimator_settings.differences(settings), 4)

    @absltest.skipIf(HAS_ESTIMATOR, 'tf.estimator is available here')
    def test_framework_missing(self):
        with self.assertRaisesRegex(wsh.FrameworkMissingError, 'tf.estimator needs TensorFlow'):
            wse.tf_warm_start_settings(self.source)


@absltest.skipUnless(HAS_ESTIMATOR, NO_ESTIMATOR)
class EstimatorTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.root = self.create_tempdir().full_path
        self.old_vocab = _write_lines(self.root, 'old_vocab.txt', OLD_WORDS)
        self.new_vocab = _write_lines(self.root, 'new_vocab.txt', NEW_WORDS)

    def _classifier(self, kind, name, new, learning_rate, **kwargs):
        vocab, words = (self.new_vocab, NEW_WORDS) if new else (self.old_vocab, OLD_WORDS)
        column = tf.feature_column.categorical_column_with_vocabulary_file(
            'occ', vocab, vocabulary_size=len(words)
        )
        config = tf.estimator.RunConfig(
            os.path.join(self.root, name), tf_random_seed=3, save_summary_steps=None
        )
        optimizer = tf.keras.optimizers.legacy.SGD(learning_rate=learning_rate)
        if kind == 'linear':
            return tf.estimator.LinearClassifier(
                [column], n_classes=3, optimizer=optimizer, config=config, **kwargs
            )
        embedding = tf.feature_column.embedding_column(column, dimension=2)
        return tf.estimator.DNNClassifier(
            [3], [embedding], n_classes=3, optimizer=optimizer, config=config, **kwargs
        )

    @staticmethod
    def _input_fn():
        features = {'occ': [['nurse'], ['doctor'], ['consultant']]}
        return tf.data.Dataset.from_tensor_slices((features, [[0], [1], [2]])).batch(3)

    @parameterized.named_parameters(('dnn_embedding', 'dnn', EMB), ('linear', 'linear', LINEAR))
    def test_same_values_as_warm_started_estimator(self, kind, remapped):
        source = self._classifier(kind, 'source', False, 1.0)
        source.train(self._input_fn, max_steps=2)
        settings = wsh.WarmStartSettings(
            source.model_dir,
            '.*',
            {remapped: wsh.VocabInfo(self.new_vocab, 5, 0, self.old_vocab)},
        )
        converted = wse.tf_warm_start_settings(settings)
        self.assertIsInstance(converted, tf.estimator.WarmStartSettings)

        theirs = self._classifier(kind, 'theirs', True, 0.0, warm_start_from=converted)
        self.assertIsInstance(theirs, type(source))  # The canned class is kept.
        theirs.train(self._input_fn, max_steps=1)
        ours = wse.warm_started_estimator(self._classifier(kind, 'ours', True, 0.0), settings)
        ours.train(self._input_fn, max_steps=1)

        names = theirs.get_variable_names()
        self.assertEqual(ours.get_variable_names(), names)
        for name in names:
            np.testing.assert_array_equal(
                ours.get_variable_value(name), theirs.get_variable_value(name), err_msg=name
            )
        # The remapped rows: old rows by word, zeros for new words.
        old = source.get_variable_value(remapped)
        expected = np.zeros((5, old.shape[1]), old.dtype)
        for i, word in enumerate(NEW_WORDS):
            if word in OLD_WORDS:
                expected[i] = old[OLD_WORDS.index(word)]
        np.testing.assert_array_equal(theirs.get_variable_value(remapped), expected)
        self.assertTrue(np.any(expected))

    def test_converted_fields(self):
        prefix = _name_based(os.path.join(self.root, 'model.ckpt'), {'w': np.ones(2, np.float32)})
        info = wsh.VocabInfo(self.new_vocab, 5, 1, self.old_vocab, 3)
        converted = wse.tf_warm_start_settings(
            wsh.WarmStartSettings(prefix, ('w', 'global_step'), {'w': info}, {'w': 'old_w'})
        )
        self.assertEqual(converted.ckpt_to_initialize_from, prefix)
        self.assertEqual(converted.vars_to_warm_start, ['w', 'global_step'])
        self.assertEqual(converted.var_name_to_prev_var_name, {'w': 'old_w'})
        tf_info = converted.var_name_to_vocab_info['w']
        self.assertIsInstance(tf_info, tf.estimator.VocabInfo)
        self.assertEqual(
            tf_info, tf.estimator.VocabInfo(self.new_vocab, 5, 1, self.old_vocab, 3, None, 0)
        )

    def test_refusal_names_the_way_out(self):
        with self.assertRaisesRegex(wsh.WarmStartError, 'warm_started_estimator') as raised:
            wse.tf_warm_start_settings(
                wsh.WarmStartSettings(os.path.join(self.root, 'none'), rules=[('a', 'b')])
            )
        self.assertLen(raised.exception.problems, 2)  # No checkpoint, and the rules.

    def test_tensorflow_refuses_our_settings_type(self):
        # Why the conversion exists: an Estimator checks the type, so nothing is dropped
        # silently; it fails when it is built.
        settings = wsh.WarmStartSettings(self.root, include_slots=True)
        with self.assertRaisesRegex(ValueError, 'warm_start_from must be a string or a Warm'):
            self._classifier('linear', 'refused', True, 0.0, warm_start_from=settings)


if __name__ == '__main__':
    absltest.main()
