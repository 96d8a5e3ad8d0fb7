"""Tests for warm_start_hooks._hook: WarmStartHook in a MonitoredTrainingSession.

The hook needs no Estimator, so these run on every TensorFlow. Results are
compared value for value with TensorFlow's own `tf.compat.v1.train.warm_start`
on the same graph, and with a numpy oracle (the old arrays, remapped by
hand). The Estimator helpers that use the hook are tested in estimator_test.
"""

import json
import os
import shutil
from unittest import mock

import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks

OLD_WORDS = ['doctor', 'lawyer', 'consultant', 'nurse']
NEW_WORDS = ['nurse', 'consultant', 'engineer', 'doctor', 'pilot']
OLD_CLASSES = ['cat', 'dog', 'fish']
NEW_CLASSES = ['dog', 'bird', 'cat']
BACKUP = 0.39


def _backup():
    # A constant draw: TensorFlow and this library call the initializer with different shapes.
    return tf.compat.v1.initializers.random_uniform(BACKUP, BACKUP)


def _config(cluster, kind=None, index=0):
    config = {'cluster': cluster}
    if kind is not None:
        config['task'] = {'type': kind, 'index': index}
    return json.dumps(config)


_PS_CLUSTER = {'chief': ['c:1'], 'worker': ['w:1', 'w:2'], 'ps': ['p:1']}


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
            snapshot = testutil.Snapshot()
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
            emb, testutil.remapped_rows(self.source_values['emb'], OLD_WORDS, NEW_WORDS, 5, BACKUP)
        )
        head = testutil.remapped_rows(
            self.source_values['head/kernel'].T, OLD_CLASSES, NEW_CLASSES, 3, BACKUP
        ).T
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
            snapshot = testutil.Snapshot()
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
        expected_emb = testutil.remapped_rows(
            self.source_values['emb'], OLD_WORDS, NEW_WORDS, 5, BACKUP
        )
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
            # As TensorFlow's warm_start raises for it: code that trains from scratch on
            # NotFoundError keeps working.
            with self.assertRaises(tf.errors.NotFoundError):
                hook.begin()
            with self.assertRaises(tf.errors.NotFoundError):
                tf.compat.v1.train.MonitoredTrainingSession(
                    checkpoint_dir=self.model_dir, hooks=[hook]
                )
        self.assertIsNone(tf.train.latest_checkpoint(self.model_dir))

    def test_bytes_paths(self):
        # Estimator.export_saved_model() returns bytes.
        args = self._settings('renamed')
        expected = self._values(False, tf_settings=args)
        for settings in (
            warm_start_hooks.WarmStartSettings(self.source.encode(), *args),
            {
                'ckpt_to_initialize_from': self.source.encode(),
                'vars_to_warm_start': args[0],
                'var_name_to_prev_var_name': args[2],
            },
        ):
            hook = warm_start_hooks.WarmStartHook(settings, model_dir=self.model_dir.encode())
            self.assertEqual(hook.settings.ckpt_to_initialize_from, self.source)
            got = self._values(False, hooks=[hook])
            np.testing.assert_array_equal(got['dense/kernel:0'], expected['dense/kernel:0'])
            self.assertTrue(hook.report.applied)
        hook = warm_start_hooks.WarmStartHook(self.source.encode())
        self.assertEqual(hook.settings.ckpt_to_initialize_from, self.source)

    @parameterized.named_parameters(
        ('empty_path', '', {}, 'ckpt_to_initialize_from must be'),
        ('not_settings', 42, {}, 'settings must be a WarmStartSettings'),
        ('unknown_field', {'ckpt_to_initialize_from': 'x', 'bogus': 1}, {}, 'unknown settings'),
        ('bad_model_dir', 'ckpt', {'model_dir': 3}, 'model_dir must be'),
        ('model_dir_not_utf8', 'ckpt', {'model_dir': b'\xff'}, r"Received: model_dir=b'\\xff'"),
        ('ckpt_not_utf8', b'\xff', {}, 'ckpt_to_initialize_from is a bytes path that is not UTF-8'),
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


class HookRoleTest(parameterized.TestCase):
    """WarmStartHook on a task that is not the chief, in one process."""

    def _graph_with_hook(self, settings, **kwargs):
        tf.compat.v1.get_variable('w', [2], initializer=tf.compat.v1.zeros_initializer())
        tf.compat.v1.train.get_or_create_global_step()
        return warm_start_hooks.WarmStartHook(settings, **kwargs)

    def test_non_chief_reads_nothing_in_begin(self):
        # A checkpoint and vocabularies that do not exist here: nothing is planned.
        info = warm_start_hooks.VocabInfo('/nowhere/new.txt', 2, 0, '/nowhere/old.txt')
        settings = warm_start_hooks.WarmStartSettings(
            '/nowhere/model', var_name_to_vocab_info={'w': info}
        )
        with tf.Graph().as_default():
            hook = self._graph_with_hook(settings, is_chief=False)
            hook.begin()
            self.assertIsNone(hook.report)
        with tf.Graph().as_default():
            hook = self._graph_with_hook(settings, is_chief=True)
            with self.assertRaises(warm_start_hooks.Error):
                hook.begin()  # The chief plans, and finds the checkpoint missing.

    def test_non_chief_that_initializes_raises(self):
        # Told it is no chief, but its session initializes the variables: a refusal.
        root = self.create_tempdir().full_path
        prefix = testutil.write_checkpoint(os.path.join(root, 'model.ckpt'), {'w': [1.0, 2.0]})
        with tf.Graph().as_default():
            hook = self._graph_with_hook(prefix, is_chief=False)
            with self.assertRaisesRegex(
                warm_start_hooks.WarmStartError, 'its session initialized the variables'
            ):
                with tf.compat.v1.train.MonitoredTrainingSession(hooks=[hook]):
                    pass

    def test_tf_config_of_a_worker_makes_it_non_chief(self):
        with tf.Graph().as_default():
            hook = self._graph_with_hook('/nowhere/model')  # Not read: no error in begin().
            config = {'TF_CONFIG': _config(_PS_CLUSTER, 'worker', 1)}
            with absltest.mock.patch.dict(os.environ, config):
                # This local session initializes the variables, so the guess was wrong.
                with self.assertRaisesRegex(
                    warm_start_hooks.WarmStartError, r'worker:1 \(is_chief=False, from TF_CONFIG'
                ):
                    with tf.compat.v1.train.MonitoredTrainingSession(hooks=[hook]):
                        pass

    def test_bad_is_chief_and_tf_config_are_refused(self):
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, "is_chief='yes'"):
            warm_start_hooks.WarmStartHook('/nowhere/model', is_chief='yes')
        with tf.Graph().as_default():
            hook = self._graph_with_hook('/nowhere/model')
            with absltest.mock.patch.dict(os.environ, {'TF_CONFIG': '{bad'}):
                with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'TF_CONFIG'):
                    hook.begin()


if __name__ == '__main__':
    absltest.main()
