"""Tests of the TensorBoard text summaries (`warm_start_hooks._summary`).

Covers `_summary.write` and the two places that call it: `WarmStartHook`
(MonitoredTrainingSession on every TensorFlow, Estimator where tf.estimator
exists) and `WarmStartCallback` (Keras, and tf_keras where installed). Each
test reads the event files back with TensorFlow's record reader and compares
the texts with the report that the hook or callback itself holds.
"""

import glob
import importlib
import json
import os
import textwrap

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh
from warm_start_hooks import _summary
from warm_start_hooks import estimator as wse
from warm_start_hooks import keras as wsk


def _importable(module):
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False


def _has_estimator():
    try:
        return tf.estimator.Estimator is not None
    except (AttributeError, ImportError):
        return False


HAS_ESTIMATOR = _has_estimator()
HAS_TF_KERAS = _importable('tf_keras')


def _events(logdir):
    """Event files under `logdir` (recursively), and their events."""
    out = {}
    for path in sorted(glob.glob(os.path.join(logdir, '**', 'events.out.*'), recursive=True)):
        records = tf.data.TFRecordDataset(path)
        out[path] = [tf.compat.v1.Event.FromString(r.numpy()) for r in records]
    return out


def _texts(logdir):
    """{(tag, step): (text, plugin name, event file)} of the warm start's summaries.

    The plugin name is the one of the tag's first summary in its event file: a
    writer keeps the metadata only there, which is where TensorBoard reads it.
    """
    out = {}
    for path, events in _events(logdir).items():
        plugins = {}
        for event in events:
            for value in event.summary.value:
                if value.tag.startswith(_summary.SCOPE + '/'):
                    plugin = plugins.setdefault(value.tag, value.metadata.plugin_data.plugin_name)
                    text = value.tensor.string_val[0].decode()
                    out[value.tag, event.step] = (text, plugin, path)
    return out


def _assert_report(test, texts, report, step):
    """`texts` hold `report` at `step`, as the table and as JSON."""
    table, plugin, path = texts[_summary.TABLE_TAG, step]
    test.assertEqual(plugin, 'text')
    test.assertEqual(textwrap.dedent(table), report.table())
    data, plugin, json_path = texts[_summary.JSON_TAG, step]
    test.assertEqual(plugin, 'text')
    test.assertEqual(json.loads(textwrap.dedent(data)), json.loads(report.to_json()))
    test.assertEqual(path, json_path)
    return path


def _checkpoint(directory, values):
    """An object-based checkpoint of `values` (name -> array) under `directory`."""
    module = tf.Module()
    for name, value in values.items():
        setattr(module, name, tf.Variable(value, name=name))
    return tf.train.Checkpoint(model=module).save(os.path.join(directory, 'ckpt'))


class WriteTest(absltest.TestCase):
    def tearDown(self):
        tf.compat.v1.summary.FileWriterCache.clear()
        super().tearDown()

    def _report(self):
        prefix = _checkpoint(self.create_tempdir().full_path, {'w': np.ones((2, 3), np.float32)})
        model = tf.Module()
        model.w = tf.Variable(np.zeros((2, 3), np.float32), name='w')
        return wsh.warm_start(prefix, variables=model)

    def test_eager_writes_an_event_file_of_its_own(self):
        report = self._report()
        logdir = self.create_tempdir().full_path
        _summary.write(report, logdir, step=5)
        texts = _texts(logdir)
        self.assertLen(texts, 2)
        path = _assert_report(self, texts, report, 5)
        self.assertEqual(os.path.dirname(path), logdir)

    def test_graph_mode_uses_the_cached_writer_of_the_directory(self):
        report = self._report()
        logdir = self.create_tempdir().full_path
        with tf.Graph().as_default():
            # The writer a session's summary hooks use, holding a training curve.
            writer = tf.compat.v1.summary.FileWriterCache.get(logdir)
            loss = tf.compat.v1.Summary(
                value=[tf.compat.v1.Summary.Value(tag='loss', simple_value=2)]
            )
            writer.add_summary(loss, global_step=1)
            _summary.write(report, logdir, step=1)
        events = _events(logdir)
        self.assertLen(events, 1)  # One event file: the curve and the report.
        (path,) = events
        tags = {v.tag for e in events[path] for v in e.summary.value}
        self.assertEqual(tags, {'loss', _summary.TABLE_TAG, _summary.JSON_TAG})
        _assert_report(self, _texts(logdir), report, 1)

    def test_markdown_is_a_code_block(self):
        self.assertEqual(_summary.markdown('a  b\n-- --'), '    a  b\n    -- --')


class HookTest(parameterized.TestCase):
    """`WarmStartHook` in a `MonitoredTrainingSession`, on every TensorFlow."""

    def setUp(self):
        super().setUp()
        self.source = _checkpoint(
            self.create_tempdir().full_path, {'w': np.arange(6, dtype=np.float32).reshape(2, 3)}
        )

    def tearDown(self):
        tf.compat.v1.summary.FileWriterCache.clear()
        super().tearDown()

    def _train(self, checkpoint_dir, steps=2, **hook_args):
        """Trains a one-variable model for `steps` steps; returns the hook."""
        hook = wsh.WarmStartHook(
            wsh.WarmStartSettings(self.source, vars_to_warm_start='w'),
            model_dir=checkpoint_dir,
            **hook_args,
        )
        with tf.Graph().as_default():
            tf.compat.v1.get_variable('w', [2, 3], initializer=tf.zeros_initializer())
            step = tf.compat.v1.train.get_or_create_global_step()
            train_op = tf.compat.v1.assign_add(step, 1)
            with tf.compat.v1.train.MonitoredTrainingSession(
                checkpoint_dir=checkpoint_dir, hooks=[hook], save_summaries_steps=1
            ) as session:
                for _ in range(steps):
                    session.run(train_op)
        return hook

    def test_report_and_skip_in_the_sessions_event_file(self):
        model_dir = self.create_tempdir().full_path
        first = self._train(model_dir)
        self.assertTrue(first.report.applied)
        path = _assert_report(self, _texts(model_dir), first.report, 0)
        # The session's own summaries are in the same file.
        self.assertEqual(set(_events(model_dir)), {path})

        second = self._train(model_dir)  # Resumes at step 2 from its own checkpoint.
        self.assertIn('restored its own checkpoint', second.report.skipped_reason)
        texts = _texts(model_dir)
        _assert_report(self, texts, second.report, 2)
        self.assertIn('Warm start skipped', texts[_summary.TABLE_TAG, 2][0])

    def test_summary_dir(self):
        model_dir = self.create_tempdir().full_path
        summary_dir = self.create_tempdir().full_path
        hook = self._train(model_dir, summary_dir=summary_dir)
        _assert_report(self, _texts(summary_dir), hook.report, 0)
        self.assertEmpty(_texts(model_dir))

    def test_write_summary_false(self):
        model_dir = self.create_tempdir().full_path
        hook = self._train(model_dir, write_summary=False)
        self.assertTrue(hook.report.applied)
        self.assertEmpty(_texts(model_dir))

    def test_without_a_directory(self):
        hook = wsh.WarmStartHook(wsh.WarmStartSettings(self.source, vars_to_warm_start='w'))
        with tf.Graph().as_default():
            w = tf.compat.v1.get_variable('w', [2, 3], initializer=tf.zeros_initializer())
            with tf.compat.v1.train.MonitoredTrainingSession(hooks=[hook]) as session:
                self.assertEqual(session.run(w)[1, 2], 5)
        self.assertTrue(hook.report.applied)

    @parameterized.named_parameters(
        ('summary_dir_int', {'summary_dir': 3}, 'summary_dir must be a non-empty directory'),
        ('summary_dir_empty', {'summary_dir': ''}, 'summary_dir must be a non-empty directory'),
        ('write_summary', {'write_summary': 'yes'}, "write_summary must be True or False.*'yes'"),
    )
    def test_bad_arguments(self, kwargs, message):
        with self.assertRaisesRegex(wsh.WarmStartError, message):
            wsh.WarmStartHook(self.source, **kwargs)


@absltest.skipUnless(HAS_ESTIMATOR, 'tf.estimator needs TensorFlow <= 2.15 and its package')
class EstimatorTest(absltest.TestCase):
    def tearDown(self):
        tf.compat.v1.summary.FileWriterCache.clear()
        super().tearDown()

    def test_report_next_to_the_training_curves(self):
        def model_fn(features, labels, mode):
            y = tf.compat.v1.layers.dense(features['x'], 1, name='dense')
            loss = tf.compat.v1.losses.mean_squared_error(labels, y)
            step = tf.compat.v1.train.get_global_step()
            train_op = tf.compat.v1.train.GradientDescentOptimizer(0.0).minimize(loss, step)
            return tf.estimator.EstimatorSpec(mode, {'y': y}, loss, train_op)

        def input_fn():
            return tf.data.Dataset.from_tensors(({'x': [[1.0, 2.0]]}, [[1.0]])).repeat()

        old_dir = self.create_tempdir().full_path
        tf.estimator.Estimator(model_fn, old_dir).train(input_fn, max_steps=1)
        model_dir = self.create_tempdir().full_path
        config = tf.estimator.RunConfig(model_dir, save_summary_steps=1)
        warm_model_fn = wse.with_warm_start(model_fn, old_dir, log_report=False)
        estimator = tf.estimator.Estimator(warm_model_fn, config=config)
        estimator.train(input_fn, max_steps=3)
        texts = _texts(model_dir)
        report = warm_model_fn.report
        self.assertTrue(report.applied)
        self.assertEqual(sorted(report.names()), ['dense/bias', 'dense/kernel'])
        path = _assert_report(self, texts, report, 0)
        curves = {v.tag for e in _events(model_dir)[path] for v in e.summary.value}
        self.assertIn('loss', curves)
        estimator.evaluate(input_fn, steps=1)  # Restores a checkpoint: nothing new written.
        self.assertEqual(_texts(model_dir), texts)


class _CallbackTest(parameterized.TestCase):
    """`WarmStartCallback` in `fit`; subclasses pick the Keras."""

    keras_module = 'keras'
    callback_class = 'WarmStartCallback'

    def setUp(self):
        super().setUp()
        self.keras = importlib.import_module(self.keras_module)
        self.callback = getattr(wsk, self.callback_class)
        old = self._model()
        self.source = tf.train.Checkpoint(model=old).save(
            os.path.join(self.create_tempdir().full_path, 'ckpt')
        )

    def _model(self):
        keras = self.keras
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name='head')])
        model.compile(keras.optimizers.SGD(0.0), 'mse')
        return model

    def _tensorboard(self, log_dir):
        """A `TensorBoard` callback; it writes nothing itself without the tensorboard package."""
        tensorboard = self.keras.callbacks.TensorBoard
        if _importable('tensorboard'):
            return tensorboard(log_dir)

        def nothing(*args, **kwargs):
            del args, kwargs

        hooks = (
            'set_model on_train_begin on_train_end on_epoch_begin on_epoch_end on_test_begin '
            'on_test_end on_train_batch_begin on_train_batch_end on_test_batch_begin '
            'on_test_batch_end'
        )
        silent = type('SilentTensorBoard', (tensorboard,), dict.fromkeys(hooks.split(), nothing))
        return silent(log_dir)

    def _fit(self, model, callbacks):
        model.fit(np.ones((8, 4)), np.ones((8, 2)), epochs=1, callbacks=callbacks, verbose=0)

    def test_log_dir(self):
        log_dir = self.create_tempdir().full_path
        callback = self.callback(self.source, log_dir=log_dir)
        model = self._model()
        self._fit(model, [callback])
        self.assertTrue(callback.report.applied)
        path = _assert_report(self, _texts(log_dir), callback.report, 0)
        self.assertEqual(os.path.dirname(path), log_dir)

        self._fit(model, [callback])  # The optimizer has taken steps: skipped.
        self.assertIn('already taken 1 step', callback.report.skipped_reason)
        _assert_report(self, _texts(log_dir), callback.report, 1)

    @parameterized.named_parameters(('before', True), ('after', False))
    def test_log_dir_of_the_tensorboard_callback(self, first):
        log_dir = self.create_tempdir().full_path
        callback = self.callback(self.source)
        tensorboard = self._tensorboard(log_dir)
        self._fit(self._model(), [tensorboard, callback] if first else [callback, tensorboard])
        path = _assert_report(self, _texts(log_dir), callback.report, 0)
        self.assertEqual(os.path.dirname(path), log_dir)  # Beside train/ and validation/.

    def test_nothing_without_a_directory(self):
        root = self.create_tempdir().full_path
        callback = self.callback(self.source)
        self._fit(self._model(), [callback])
        self.assertTrue(callback.report.applied)
        self.assertEmpty(_events(root))

    def test_write_summary_false(self):
        log_dir = self.create_tempdir().full_path
        callback = self.callback(self.source, write_summary=False)
        self._fit(self._model(), [self._tensorboard(log_dir), callback])
        self.assertTrue(callback.report.applied)
        self.assertEmpty(_texts(log_dir))

    @parameterized.named_parameters(
        ('log_dir', {'log_dir': 5}, 'log_dir must be a non-empty directory path or None'),
        ('write_summary', {'write_summary': 1}, 'write_summary must be True or False'),
    )
    def test_bad_arguments(self, kwargs, message):
        with self.assertRaisesRegex(wsh.WarmStartError, message):
            self.callback(self.source, **kwargs)


@absltest.skipUnless(_importable('keras'), 'the keras package is not installed')
class KerasTest(_CallbackTest):
    pass


@absltest.skipUnless(
    HAS_TF_KERAS and tf.__version__ >= '2.16', 'tf_keras (Keras 2 on TensorFlow 2.16+) is missing'
)
class TfKerasTest(_CallbackTest):
    keras_module = 'tf_keras'
    callback_class = 'TfKerasWarmStartCallback'


del _CallbackTest  # Only its subclasses run.


if __name__ == '__main__':
    absltest.main()
