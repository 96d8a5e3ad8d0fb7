"""Tests of applying a plan (`_apply.py`) when something fails partway.

In eager mode every value is read and computed before the first assign, so a
fault while applying leaves every variable as it was (`ApplyError`). In graph
mode the initializers are replaced only once every op was built; reads happen
when the initializers run.
"""

import dataclasses
import os
from unittest import mock

import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh
from warm_start_hooks import _api
from warm_start_hooks import _checkpoint
from warm_start_hooks import _remap

tf1 = tf.compat.v1

OLD_VOCAB = ['apple', 'banana', 'guava', 'orange']
NEW_VOCAB = ['orange', 'kiwi', 'apple']  # + 1 OOV bucket: the 4 rows of 'emb'.
CKPT = {
    'a': np.full((3, 2), 1, np.float32),
    'b': np.full((3, 2), 2, np.float32),
    'c': np.full((3, 2), 3, np.float32),
    'd': np.full((3, 2), 4, np.float32),
    'emb': np.arange(12, dtype=np.float32).reshape(4, 3) + 1,
}
FRESH = {name: np.full(value.shape, -1, np.float32) for name, value in CKPT.items()}
REMAPPED = np.stack([CKPT['emb'][3], np.zeros(3), CKPT['emb'][0], np.zeros(3)])
EXPECTED = dict(CKPT, emb=REMAPPED)


def _data_file(prefix):
    return prefix + '.data-00000-of-00001'


class _Fixture(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.dir = self.create_tempdir().full_path
        self.prefix = testutil.write_checkpoint(os.path.join(self.dir, 'model.ckpt-1'), CKPT)
        self.old_vocab = self._write('old.txt', OLD_VOCAB)
        self.new_vocab = self._write('new.txt', NEW_VOCAB)

    def _write(self, name, tokens):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            f.write(''.join(t + '\n' for t in tokens))
        return path

    def settings(self, **kwargs):
        info = wsh.VocabInfo(self.new_vocab, 3, 1, self.old_vocab, **kwargs)
        return wsh.WarmStartSettings(self.dir, var_name_to_vocab_info={'emb': info})

    def eager_variables(self):
        return {n: tf.Variable(v, name=n) for n, v in FRESH.items()}

    def assert_unchanged(self, variables):
        for name, v in variables.items():
            np.testing.assert_array_equal(v.numpy(), FRESH[name], err_msg=name)

    def assert_all_or_nothing(self, apply, variables, expected):
        """`apply` either fails with ApplyError and changes nothing, or sets every value."""
        try:
            apply()
        except wsh.ApplyError as e:
            self.assertIn('No variable was changed', str(e))
            self.assert_unchanged(variables)
            return False
        for name, v in variables.items():
            np.testing.assert_array_equal(v.numpy(), expected[name], err_msg=name)
        return True


class EagerFaultTest(_Fixture):
    def test_without_fault_every_value_is_set(self):
        variables = self.eager_variables()
        wsh.warm_start(self.settings(), variables=variables)
        for name, v in variables.items():
            np.testing.assert_array_equal(v.numpy(), EXPECTED[name], err_msg=name)

    @parameterized.named_parameters(
        ('corrupt', lambda: wsh.CorruptCheckpointError('injected: bad block'), 'bad block'),
        ('data_loss', lambda: tf.errors.DataLossError(None, None, 'injected: crc'), 'crc'),
        ('short_read', lambda: IndexError('Read less bytes than requested'), 'Read less bytes'),
        ('os_error', lambda: OSError(5, 'injected: I/O error'), 'I/O error'),
    )
    def test_third_read_fails(self, make_error, pattern):
        calls = []
        originals = {m: getattr(_checkpoint.CheckpointSource, m) for m in ('read', 'read_rows')}

        def failing(method):
            def wrapper(self, key, *args):
                calls.append((method, key))
                if len(calls) == 3:
                    raise make_error()
                return originals[method](self, key, *args)

            return wrapper

        variables = self.eager_variables()
        with (
            mock.patch.object(_checkpoint.CheckpointSource, 'read', failing('read')),
            mock.patch.object(_checkpoint.CheckpointSource, 'read_rows', failing('read_rows')),
        ):
            with self.assertRaisesRegex(wsh.ApplyError, pattern) as cm:
                wsh.warm_start(self.settings(), variables=variables)
        self.assertGreaterEqual(len(calls), 3)
        self.assertIn('No variable was changed', str(cm.exception))
        self.assert_unchanged(variables)

    def test_remap_read_fails(self):
        # The last variable, a remap, fails: the copies computed before are not assigned.
        original = _checkpoint.CheckpointSource.read_rows

        def read_rows(self, key, start, stop):
            if key == 'emb':
                raise wsh.CorruptCheckpointError('injected: emb rows unreadable')
            return original(self, key, start, stop)

        variables = self.eager_variables()
        with mock.patch.object(_checkpoint.CheckpointSource, 'read_rows', read_rows):
            with self.assertRaisesRegex(wsh.ApplyError, 'emb rows unreadable'):
                wsh.warm_start(self.settings(), variables=variables)
        self.assert_unchanged(variables)

    def test_backup_initializer_fails(self):
        def broken(shape, dtype=None):
            raise ValueError('injected: initializer broke')

        variables = self.eager_variables()
        with self.assertRaisesRegex(wsh.ApplyError, 'ValueError: injected: initializer broke'):
            wsh.warm_start(self.settings(backup_initializer=broken), variables=variables)
        self.assert_unchanged(variables)

    def test_data_truncated_after_plan(self):
        # Truncated in place: even a reader that holds the file open sees it short.
        variables = self.eager_variables()
        plan = _api.make_plan(self.settings(), variables=variables)
        with open(_data_file(self.prefix), 'r+b') as f:
            f.truncate(40)
        with self.assertRaisesRegex(wsh.ApplyError, r'model\.ckpt-1') as cm:
            _api.execute(plan, log=False)
        self.assertIn('No variable was changed', str(cm.exception))
        self.assert_unchanged(variables)

    def test_data_bytes_corrupted_after_plan(self):
        # Same size, so planning passes; the checksum fails when 'a' is read.
        variables = self.eager_variables()
        plan = _api.make_plan(self.settings(), variables=variables)
        with open(_data_file(self.prefix), 'r+b') as f:
            f.seek(4)
            f.write(b'\xff\xff')
        with self.assertRaisesRegex(wsh.ApplyError, r'(?i)checksum') as cm:
            _api.execute(plan, log=False)
        self.assertIn('No variable was changed', str(cm.exception))
        self.assert_unchanged(variables)

    def test_data_file_deleted_after_plan(self):
        variables = self.eager_variables()
        plan = _api.make_plan(self.settings(), variables=variables)
        os.remove(_data_file(self.prefix))
        # A reader that already holds the file open may still read it; either way the
        # model is all old or all warm-started from the planned checkpoint.
        self.assert_all_or_nothing(lambda: _api.execute(plan, log=False), variables, EXPECTED)

    def test_assign_fails_partway_restores_the_assigned(self):
        variables = self.eager_variables()
        plan = _api.make_plan(self.settings(), variables=variables)
        failing = variables['c']
        original = type(failing).assign

        def assign(v, value, *args, **kwargs):
            if v is failing:
                raise tf.errors.ResourceExhaustedError(None, None, 'injected: out of memory')
            return original(v, value, *args, **kwargs)

        with mock.patch.object(type(failing), 'assign', assign):
            with self.assertRaisesRegex(
                wsh.ApplyError,
                r"Assigning 'c' failed: ResourceExhaustedError: injected: out of memory\. "
                r'The 2 part\(s\) assigned before it were restored: no variable was changed',
            ):
                _api.execute(plan, log=False)
        self.assert_unchanged(variables)


class CheckpointWrittenMeanwhileTest(_Fixture):
    """A trainer saves a new checkpoint (max_to_keep=1) between planning and applying."""

    def _trainer_saves_again(self, keep_old):
        newer = {name: value + 100 for name, value in CKPT.items()}
        prefix = testutil.write_checkpoint(os.path.join(self.dir, 'model.ckpt-2'), newer)
        self.assertEqual(tf.train.latest_checkpoint(self.dir), prefix)
        if not keep_old:
            for name in os.listdir(self.dir):
                if name.startswith('model.ckpt-1.'):
                    os.remove(os.path.join(self.dir, name))

    def test_old_checkpoint_kept_values_from_the_resolved_one(self):
        variables = self.eager_variables()
        plan = _api.make_plan(self.settings(), variables=variables)
        self.assertEqual(plan.source.prefix, self.prefix)
        self._trainer_saves_again(keep_old=True)
        _api.execute(plan, log=False)
        for name, v in variables.items():
            np.testing.assert_array_equal(v.numpy(), EXPECTED[name], err_msg=name)

    def test_old_checkpoint_deleted_all_or_nothing(self):
        variables = self.eager_variables()
        plan = _api.make_plan(self.settings(), variables=variables)
        self._trainer_saves_again(keep_old=False)
        self.assert_all_or_nothing(lambda: _api.execute(plan, log=False), variables, EXPECTED)

    def test_object_based_manager_max_to_keep_1(self):
        directory = os.path.join(self.dir, 'trainer')
        trained = {n: tf.Variable(v) for n, v in CKPT.items()}
        manager = tf.train.CheckpointManager(
            tf.train.Checkpoint(**trained), directory, max_to_keep=1
        )
        first = manager.save()
        variables = self.eager_variables()
        settings = wsh.WarmStartSettings(
            directory,
            var_name_to_vocab_info={'emb': wsh.VocabInfo(self.new_vocab, 3, 1, self.old_vocab)},
        )
        plan = _api.make_plan(settings, variables=variables)
        self.assertEqual(plan.source.prefix, first)
        for v in trained.values():
            v.assign_add(tf.ones_like(v) * 100)
        manager.save()
        self.assertFalse(tf.io.gfile.exists(first + '.index'))
        self.assert_all_or_nothing(lambda: _api.execute(plan, log=False), variables, EXPECTED)

    def test_graph_mode_reads_the_resolved_checkpoint_or_fails_at_init(self):
        graph = tf.Graph()
        with graph.as_default():
            variables = {n: tf1.get_variable(n, initializer=v) for n, v in FRESH.items()}
            wsh.warm_start(self.settings())
        self._trainer_saves_again(keep_old=False)  # Eagerly, outside the graph.
        with graph.as_default():
            with tf1.Session() as sess:
                try:
                    sess.run(tf1.global_variables_initializer())
                except tf.errors.OpError as e:
                    self.assertRegex(e.message, r'model\.ckpt-1')
                    return
                values = sess.run(variables)
        for name, value in values.items():
            np.testing.assert_array_equal(value, EXPECTED[name], err_msg=name)


class GraphFaultTest(_Fixture):
    def test_build_failure_replaces_no_initializer(self):
        with tf.Graph().as_default():
            variables = {n: tf1.get_variable(n, initializer=v) for n, v in FRESH.items()}
            before = {n: v.initializer for n, v in variables.items()}
            with mock.patch.object(
                _remap.Remapper, '__init__', side_effect=RuntimeError('injected: no remapper')
            ):
                with self.assertRaisesRegex(
                    wsh.ApplyError, 'RuntimeError: injected: no remapper.*No initializer'
                ):
                    wsh.warm_start(self.settings())
            for name, v in variables.items():
                self.assertIs(v.initializer, before[name], name)
            with tf1.Session() as sess:
                sess.run(tf1.global_variables_initializer())
                values = sess.run(variables)
        for name, value in values.items():
            np.testing.assert_array_equal(value, FRESH[name], err_msg=name)

    @parameterized.named_parameters(('numpy', 'numpy'), ('tf_ops', 'tf_ops'))
    def test_data_truncated_after_plan_fails_at_init(self, backend):
        with tf.Graph().as_default():
            for name, value in FRESH.items():
                tf1.get_variable(name, initializer=value)
            wsh.warm_start(dataclasses.replace(self.settings(), remap_backend=backend))
            with open(_data_file(self.prefix), 'r+b') as f:
                f.truncate(40)
            with tf1.Session() as sess:
                with self.assertRaises(tf.errors.OpError):
                    sess.run(tf1.global_variables_initializer())


class SourceRewrittenTest(_Fixture):
    """The checkpoint is rewritten at the same prefix between planning and applying."""

    def _rewrite(self, **changes):
        values = dict(CKPT, **changes)
        testutil.write_checkpoint(self.prefix, values)

    @parameterized.named_parameters(
        ('fewer_rows', {'emb': CKPT['emb'][:3]}, r"tensor 'emb' was \[4, 3\], now \[3, 3\]"),
        ('other_values', {'a': CKPT['a'] + 1}, 'the same tensors and shapes, with other values'),
    )
    def test_eager_fails_and_changes_nothing(self, changes, what):
        variables = self.eager_variables()
        plan = _api.make_plan(self.settings(), variables=variables)
        self._rewrite(**changes)
        with self.assertRaisesRegex(wsh.ApplyError, 'changed between planning and applying') as cm:
            _api.execute(plan, log=False)
        self.assertRegex(str(cm.exception), what)
        self.assertIn(self.prefix, str(cm.exception))
        self.assertIn('No variable was changed', str(cm.exception))
        self.assert_unchanged(variables)

    def test_eager_rewritten_while_reading(self):
        variables = self.eager_variables()
        plan = _api.make_plan(self.settings(), variables=variables)
        original = _checkpoint.CheckpointSource.read

        def read_then_rewrite(source, key):
            value = original(source, key)
            if key == 'a':
                self._rewrite(a=CKPT['a'] + 1)
            return value

        with mock.patch.object(_checkpoint.CheckpointSource, 'read', read_then_rewrite):
            with self.assertRaisesRegex(wsh.ApplyError, 'changed between planning and applying'):
                _api.execute(plan, log=False)
        self.assert_unchanged(variables)

    @parameterized.named_parameters(('numpy', 'numpy'), ('tf_ops', 'tf_ops'))
    def test_graph_initializers_fail_and_assign_nothing(self, backend):
        # warm_start() plans and overrides initializers; the session runs them later.
        graph = tf.Graph()
        with graph.as_default():
            variables = {n: tf1.get_variable(n, initializer=v) for n, v in FRESH.items()}
            wsh.warm_start(dataclasses.replace(self.settings(), remap_backend=backend))
        self._rewrite(emb=CKPT['emb'][:3])
        with graph.as_default(), tf1.Session() as sess:
            with self.assertRaisesRegex(tf.errors.OpError, 'changed between planning') as cm:
                sess.run(tf1.global_variables_initializer())
            self.assertIn("'emb' was [4, 3], now [3, 3]", cm.exception.message)
            # No warm-start value was assigned: every variable is still uninitialized.
            self.assertCountEqual(
                [n.decode() for n in sess.run(tf1.report_uninitialized_variables())],
                list(variables),
            )

    def test_graph_unchanged_source_still_applies(self):
        graph = tf.Graph()
        with graph.as_default():
            variables = {n: tf1.get_variable(n, initializer=v) for n, v in FRESH.items()}
            wsh.warm_start(self.settings())
            with tf1.Session() as sess:
                sess.run(tf1.global_variables_initializer())
                values = sess.run(variables)
        for name, value in values.items():
            np.testing.assert_array_equal(value, EXPECTED[name], err_msg=name)


if __name__ == '__main__':
    absltest.main()
