"""Tests for warm_start_hooks._multiworker: warm starts under MultiWorkerMirroredStrategy.

`MultiWorkerClusterTest` runs a real cluster: two worker processes on
127.0.0.1 with TF_CONFIG, each building the same models under one
`MultiWorkerMirroredStrategy`. Worker 0 (the chief) runs in a directory that
holds the checkpoint and vocabularies, given by relative paths; worker 1 runs
in an empty one, so it can only succeed if it reads none of them. Each worker
reports the values of its copies; the tests check that both workers hold the
same bytes, that copied rows equal the old rows by token (a numpy oracle),
that the random rows are the same on both although each worker's own draws
differ, and that resuming, disagreeing and failing happen on both workers.

The other tests check the agreement rules, all-or-none assigning and the
report round trip in one process, with stand-ins for the strategy.
"""

import importlib
import json
import os
import sys
import tempfile
import time
import traceback

import cluster
import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks
from warm_start_hooks import _api
from warm_start_hooks import _distribute
from warm_start_hooks import _errors
from warm_start_hooks import _multiworker

OLD_WORDS = ['a', 'b', 'c', 'd', 'e', 'f']
NEW_WORDS = ['f', 'x', 'b', 'a', 'y', 'd']
NUM_OOV = 2
ROWS = len(NEW_WORDS) + NUM_OOV
OLD_CLASSES = ['p', 'n', 'm']
NEW_CLASSES = ['n', 'z', 'p', 'm']
OLD_EMB = np.arange(18, dtype=np.float32).reshape(6, 3) + 1.0
OLD_HEAD = np.arange(9, dtype=np.float32).reshape(3, 3) * 0.5 - 2.0
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(warm_start_hooks.__file__)))
_TIMEOUT_S = 420


def _keras(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _keras_major():
    keras = _keras('keras')
    return int(keras.__version__.split('.')[0]) if keras else 0


def _keras2_flavour():
    """The Keras 2 module here: tf.keras on TF 2.15, else tf_keras, else None."""
    if _keras_major() == 2:
        return 'keras'
    return 'tf_keras' if _keras('tf_keras') else None


# ---- the numpy oracle --------------------------------------------------------


def _copied_rows():
    """{new row: old row} of the embedding remap."""
    return {i: OLD_WORDS.index(w) for i, w in enumerate(NEW_WORDS) if w in OLD_WORDS}


def _copied_cols():
    """{new column: old column} of the class head remap."""
    return {j: OLD_CLASSES.index(c) for j, c in enumerate(NEW_CLASSES) if c in OLD_CLASSES}


# ---- what each worker runs -----------------------------------------------------

SOURCE = 'source'  # Relative: present in the chief's directory only.


def _settings(**options):
    """Settings with a random backup for new and OOV rows, gaussian new class columns."""
    return warm_start_hooks.WarmStartSettings(SOURCE, **options)


def _emb_info():
    return warm_start_hooks.VocabInfo(
        'new_vocab.txt',
        len(NEW_WORDS),
        NUM_OOV,
        'old_vocab.txt',
        backup_initializer=tf.random_normal_initializer(),  # Unseeded: per-process draws.
    )


def _head_info():
    return warm_start_hooks.VocabInfo(
        'new_classes.txt', len(NEW_CLASSES), 0, 'old_classes.txt', axis=1, new_row_init='gaussian'
    )


def _copies(variable):
    """Every local copy's values, as lists."""
    inner = variable if isinstance(variable, tf.Variable) else variable.value
    return [np.asarray(c.numpy()).tolist() for c in inner.values]


def _error(e):
    return {'type': type(e).__name__, 'message': str(e)}


def _step_core(strategy):
    with strategy.scope():
        emb = tf.Variable(tf.ones([ROWS, 3]), name='emb')
        head = tf.Variable(tf.ones([3, len(NEW_CLASSES)]), name='head')
    report = warm_start_hooks.warm_start(
        _settings(var_name_to_vocab_info={'emb': _emb_info(), 'head': _head_info()}),
        variables=[emb, head],
    )
    return {
        'emb': _copies(emb),
        'head': _copies(head),
        'applied': report.applied,
        'names': report.names(),
        'notes': list(report.notes),
        # What this worker would draw on its own: differs between workers.
        'own_draw': tf.random_normal_initializer()([ROWS, 3]).numpy().tolist(),
    }


def _step_disagree(strategy, index):
    with strategy.scope():
        emb = tf.Variable(tf.ones([ROWS, 3]), name='emb')
    try:
        _api.warm_start_across_workers(
            _settings(var_name_to_vocab_info={'emb': _emb_info()}),
            [emb],
            strategy,
            skip_reason='it resumes' if index == 1 else None,
        )
        error = None
    except _errors.Error as e:
        error = _error(e)
    return {'error': error, 'emb': _copies(emb)}


def _step_chief_fails(strategy):
    with strategy.scope():
        emb = tf.Variable(tf.ones([ROWS, 3]), name='emb')
    info = warm_start_hooks.VocabInfo('new_vocab.txt', len(NEW_WORDS), NUM_OOV, 'gone.txt')
    try:
        warm_start_hooks.warm_start(
            _settings(var_name_to_vocab_info={'emb': info}), variables=[emb]
        )
        error = None
    except _errors.Error as e:
        error = _error(e)
    return {'error': error, 'emb': _copies(emb)}


def _keras2_model(keras, strategy, learning_rate):
    with strategy.scope():
        model = keras.Sequential(
            [
                keras.layers.Embedding(ROWS, 3, name='emb'),
                keras.layers.Dense(len(NEW_CLASSES), name='head'),
            ]
        )
        model.build((None, 1))
        model.compile(keras.optimizers.SGD(learning_rate), 'mse')
    return model


def _keras2_callback(flavour):
    from warm_start_hooks import keras as wsk  # pylint: disable=import-outside-toplevel

    name = 'TfKerasWarmStartCallback' if flavour == 'tf_keras' else 'WarmStartCallback'
    keras = importlib.import_module(flavour)
    info = _emb_info()
    info = warm_start_hooks.VocabInfo(
        info.new_vocab,
        info.new_vocab_size,
        info.num_oov_buckets,
        info.old_vocab,
        backup_initializer=keras.initializers.RandomNormal(),  # Unseeded.
    )
    settings = _settings(
        vars_to_warm_start=['emb/embeddings', 'head/kernel'],
        var_name_to_vocab_info={'emb/embeddings': info, 'head/kernel': _head_info()},
    )
    return getattr(wsk, name)(settings)


def _dataset(targets):
    x = np.array([[0], [2], [3], [6]], np.int32)
    y = np.full((4, 1, len(NEW_CLASSES)), targets, np.float32)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return data.with_options(options)


def _step_keras2_fit(strategy, flavour):
    keras = importlib.import_module(flavour)
    model = _keras2_model(keras, strategy, 0.0)
    callback = _keras2_callback(flavour)
    model.fit(_dataset(0.0), epochs=1, callbacks=[callback], verbose=0)
    return {
        'emb': _copies(model.layers[0].embeddings),
        'head': _copies(model.layers[1].kernel),
        'applied': callback.report.applied,
        'own_draw': keras.initializers.RandomNormal()([ROWS, 3]).numpy().tolist(),
    }


def _step_keras2_resume(strategy, flavour, backup_dir):
    """A job stops after epoch 0 and restarts: BackupAndRestore restores it on both workers."""
    keras = importlib.import_module(flavour)

    class Values(keras.callbacks.Callback):
        def __init__(self, stop_at=None):
            super().__init__()
            self.stop_at = stop_at
            self.at_end, self.at_begin = {}, {}

        def on_epoch_begin(self, epoch, logs=None):
            self.at_begin[epoch] = _copies(self.model.layers[0].embeddings)
            if epoch == self.stop_at:
                raise RuntimeError('stopped on purpose')

        def on_epoch_end(self, epoch, logs=None):
            self.at_end[epoch] = _copies(self.model.layers[0].embeddings)

    first, values = _keras2_callback(flavour), Values(stop_at=1)
    backup = keras.callbacks.BackupAndRestore(backup_dir)
    try:
        model = _keras2_model(keras, strategy, 0.5)
        model.fit(_dataset(1.0), epochs=2, callbacks=[backup, first, values], verbose=0)
    except RuntimeError as e:
        if 'stopped on purpose' not in str(e):
            raise
    restarted, probe = _keras2_callback(flavour), Values()
    model = _keras2_model(keras, strategy, 0.5)  # A new model: the restarted job's.
    backup = keras.callbacks.BackupAndRestore(backup_dir)
    model.fit(_dataset(1.0), epochs=2, callbacks=[backup, restarted, probe], verbose=0)
    return {
        'first_applied': first.report.applied,
        'first_emb': values.at_begin[0],
        'trained_emb': values.at_end[0],
        'restarted_applied': restarted.report.applied,
        'restarted_reason': restarted.report.skipped_reason,
        'restored_emb': probe.at_begin[1],
        'resumed_epochs': sorted(probe.at_begin),
    }


def _keras3_model(keras, strategy):
    with strategy.scope():
        return keras.Sequential(
            [
                keras.Input((1,), dtype='int32'),
                keras.layers.Embedding(ROWS, 3, name='emb'),
                keras.layers.Dense(len(NEW_CLASSES), name='head'),
            ]
        )


def _step_keras3_core(strategy):
    keras = importlib.import_module('keras')
    model = _keras3_model(keras, strategy)
    emb, head = model.layers[0].embeddings, model.layers[1].kernel
    report = warm_start_hooks.warm_start(
        _settings(
            vars_to_warm_start=[emb.path, head.path],
            var_name_to_prev_var_name={emb.path: 'emb', head.path: 'head'},
            var_name_to_vocab_info={emb.path: _emb_info(), head.path: _head_info()},
        ),
        variables=model,
    )
    return {'emb': _copies(emb), 'head': _copies(head), 'applied': report.applied}


def _step_keras3_fit(strategy):
    """Keras 3's fit under MultiWorkerMirroredStrategy fails before any callback runs."""
    keras = importlib.import_module('keras')
    model = _keras3_model(keras, strategy)
    model.compile(keras.optimizers.SGD(0.0), 'mse')
    calls = []

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            calls.append('on_train_begin')

        def on_epoch_begin(self, epoch, logs=None):
            calls.append('on_epoch_begin')

    ours = warm_start_hooks.WarmStartCallback(_settings())
    try:
        model.fit(_dataset(0.0), epochs=1, callbacks=[Probe(), ours], verbose=0)
        error = None
    except Exception as e:  # pylint: disable=broad-except
        error = {'type': type(e).__name__, 'message': str(e)[:500]}
    return {'error': error, 'callback_calls': calls, 'report': ours.report is not None}


def _step_graph_mode():
    """Graph mode across workers is refused: each worker would run its own initializers."""
    with tf.Graph().as_default():
        strategy = tf.compat.v1.distribute.experimental.MultiWorkerMirroredStrategy()
        with strategy.scope():
            tf.compat.v1.get_variable('emb', [ROWS, 3])
        try:
            warm_start_hooks.warm_start(SOURCE, '.*', {'emb': _emb_info()})
            return {'error': None}
        except _errors.Error as e:
            return {'error': _error(e)}


def _attempt(out, key, fn, *args):
    try:
        out[key] = fn(*args)
    except Exception:  # pylint: disable=broad-except
        out[key] = {'failed': traceback.format_exc()}


def _worker(index, backup_dir):
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    out = {'replicas': strategy.num_replicas_in_sync}
    # Every step runs on both workers in the same order: each holds collectives.
    _attempt(out, 'core', _step_core, strategy)
    _attempt(out, 'disagree', _step_disagree, strategy, index)
    _attempt(out, 'chief_fails', _step_chief_fails, strategy)
    flavour = _keras2_flavour()
    if flavour:
        _attempt(out, 'keras2_fit', _step_keras2_fit, strategy, flavour)
        _attempt(out, 'keras2_resume', _step_keras2_resume, strategy, flavour, backup_dir)
    if _keras_major() >= 3:
        _attempt(out, 'keras3_core', _step_keras3_core, strategy)
        _attempt(out, 'keras3_fit', _step_keras3_fit, strategy)
    _attempt(out, 'graph_mode', _step_graph_mode)
    out['files_here'] = sorted(os.listdir('.'))
    return out


def child_main(argv):
    index, backup_dir = int(argv[0]), argv[1]
    cluster.print_result(_worker(index, backup_dir))
    # The strategy's servers and threads cannot be shut down: leave at once.
    os._exit(0)


def _write_sources(directory):
    testutil.write_lines(directory, 'old_vocab.txt', OLD_WORDS)
    testutil.write_lines(directory, 'new_vocab.txt', NEW_WORDS)
    testutil.write_lines(directory, 'old_classes.txt', OLD_CLASSES)
    testutil.write_lines(directory, 'new_classes.txt', NEW_CLASSES)
    os.makedirs(os.path.join(directory, SOURCE))
    testutil.write_checkpoint(
        os.path.join(directory, SOURCE, 'model.ckpt'),
        {'emb': OLD_EMB, 'head': OLD_HEAD, 'emb/embeddings': OLD_EMB, 'head/kernel': OLD_HEAD},
    )


# ---- the tests ---------------------------------------------------------------


class MultiWorkerClusterTest(parameterized.TestCase):
    """Two worker processes under one MultiWorkerMirroredStrategy."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        workdir = tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir())
        dirs = [os.path.join(workdir, f'worker{i}') for i in range(2)]
        for d in dirs:
            os.makedirs(d)
        _write_sources(dirs[0])
        backup_dir = os.path.join(workdir, 'backup')

        def launch(c, attempt):
            spec = cluster.cluster_spec({'worker': 2})
            for i in range(2):
                config = cluster.tf_config(spec, 'worker', i)
                c.start(f'worker{i}', [str(i), backup_dir], cwd=dirs[i], tf_config_json=config)

        start = time.monotonic()
        cls.results = cluster.run_cluster(
            cls, __file__, _ROOT, launch, ['worker0', 'worker1'], _TIMEOUT_S
        )
        cls.seconds = time.monotonic() - start
        print(f'MultiWorkerClusterTest: the cluster ran for {cls.seconds:.1f} s', file=sys.stderr)

    def step(self, name):
        """Both workers' results of step `name`; fails with a worker's traceback."""
        got = []
        for worker in ('worker0', 'worker1'):
            result = self.results[worker].get(name)
            if result is None:
                self.skipTest(f'{name} does not run on this stack')
            if 'failed' in result:
                self.fail(f'{name} failed on {worker}:\n{result["failed"]}')
            got.append(result)
        return got

    def assert_same_on_workers(self, chief, other, name):
        """One copy per worker here; both hold the same bytes."""
        for got in (chief, other):
            self.assertLen(got[name], 1, f'{name}: one local replica per worker')
        a = np.asarray(chief[name][0], np.float32)
        b = np.asarray(other[name][0], np.float32)
        np.testing.assert_array_equal(a.view(np.int32), b.view(np.int32), err_msg=name)
        return a

    def assert_emb(self, value):
        for new, old in _copied_rows().items():
            np.testing.assert_array_equal(value[new], OLD_EMB[old], err_msg=f'row {new}')
        drawn = [i for i in range(ROWS) if i not in _copied_rows()]
        self.assertLen(drawn, 4)  # 2 new tokens, 2 OOV buckets.
        # Drawn, not left as they were (ones) or zero.
        self.assertFalse(np.any(np.all(value[drawn] == 1.0, axis=1)))
        self.assertFalse(np.any(np.all(value[drawn] == 0.0, axis=1)))

    def assert_head(self, value):
        for new, old in _copied_cols().items():
            np.testing.assert_array_equal(value[:, new], OLD_HEAD[:, old], err_msg=f'col {new}')
        new_col = NEW_CLASSES.index('z')
        self.assertFalse(np.all(value[:, new_col] == 1.0))

    def test_cluster_has_two_workers(self):
        self.assertEqual(self.results['worker0']['replicas'], 2)
        self.assertEqual(self.results['worker1']['replicas'], 2)

    @parameterized.named_parameters(
        ('core', 'core'), ('keras2_callback', 'keras2_fit'), ('keras3_core', 'keras3_core')
    )
    def test_every_worker_holds_the_same_values_equal_to_oracle(self, step):
        chief, other = self.step(step)
        self.assertTrue(chief['applied'])
        self.assertTrue(other['applied'])
        self.assert_emb(self.assert_same_on_workers(chief, other, 'emb'))
        self.assert_head(self.assert_same_on_workers(chief, other, 'head'))

    @parameterized.named_parameters(('core', 'core'), ('keras2_callback', 'keras2_fit'))
    def test_each_worker_would_draw_other_values_on_its_own(self, step):
        # What the coordination prevents: the same unseeded initializer differs per worker.
        chief, other = self.step(step)
        self.assertFalse(np.array_equal(chief['own_draw'], other['own_draw']))

    def test_worker_reads_nothing_and_says_so(self):
        chief, other = self.step('core')
        self.assertIn(SOURCE, self.results['worker0']['files_here'])
        self.assertEmpty(self.results['worker1']['files_here'])
        self.assertIn('planned and read on this task (worker:0)', chief['notes'][-1])
        self.assertIn('this task (worker:1) read no checkpoint or vocabulary', other['notes'][-1])
        self.assertEqual(chief['names'], other['names'])

    def test_workers_that_disagree_both_raise_and_change_nothing(self):
        for got in self.step('disagree'):
            self.assertEqual(got['error']['type'], 'WarmStartError')
            self.assertIn('resume from saved training state while', got['error']['message'])
            np.testing.assert_array_equal(got['emb'][0], np.ones([ROWS, 3]))

    def test_chief_failure_is_raised_on_every_worker(self):
        chief, other = self.step('chief_fails')
        self.assertEqual(chief['error']['type'], 'WarmStartError')
        self.assertIn('gone.txt', chief['error']['message'])
        self.assertEqual(other['error']['type'], 'WarmStartError')
        self.assertIn('on the chief', other['error']['message'])
        self.assertIn('gone.txt', other['error']['message'])
        for got in (chief, other):
            np.testing.assert_array_equal(got['emb'][0], np.ones([ROWS, 3]))

    def test_restarted_job_skips_on_every_worker(self):
        chief, other = self.step('keras2_resume')
        for got in (chief, other):
            self.assertTrue(got['first_applied'])
            self.assertFalse(got['restarted_applied'])
            self.assertIn('BackupAndRestore restored', got['restarted_reason'])
            self.assertEqual(got['resumed_epochs'], [1])
        self.assert_emb(self.assert_same_on_workers(chief, other, 'first_emb'))
        trained = self.assert_same_on_workers(chief, other, 'trained_emb')
        restored = self.assert_same_on_workers(chief, other, 'restored_emb')
        # The restarted job holds the trained values of its backup, not a new warm start.
        np.testing.assert_array_equal(restored, trained)
        self.assertFalse(np.array_equal(trained, np.asarray(chief['first_emb'][0])))

    def test_graph_mode_is_refused_on_every_worker(self):
        for got in self.step('graph_mode'):
            self.assertEqual(got['error']['type'], 'WarmStartError')
            self.assertIn('MultiWorkerMirroredStrategy in graph mode', got['error']['message'])

    def test_keras3_fit_fails_before_any_callback(self):
        for got in self.step('keras3_fit'):
            self.assertIsNotNone(got['error'], 'Keras 3 fit under MWMS now works: update docs')
            self.assertEmpty(got['callback_calls'])
            self.assertFalse(got['report'])


class _Named:
    name, slot = 'worker:0', 0


class _Gathering(_Named):
    """A task whose agreement says which workers failed."""

    def __init__(self, failed):
        self.failed = failed

    def gather(self, row):
        return np.array([[f] for f in self.failed], np.int32)


class AssignAgreedTest(parameterized.TestCase):
    def _values(self):
        from warm_start_hooks import _variables  # pylint: disable=import-outside-toplevel

        v = tf.Variable([1.0, 2.0])
        return v, [(_variables.Part(v, (0,), (2,)), np.array([5.0, 6.0], np.float32))]

    def test_all_succeeded_keeps_values(self):
        v, values = self._values()
        _multiworker._assign_agreed(_Gathering([0, 0]), values, 'ckpt', None)
        np.testing.assert_array_equal(v.numpy(), [5.0, 6.0])

    def test_another_worker_failed_restores_this_one(self):
        v, values = self._values()
        with self.assertRaisesRegex(_errors.ApplyError, r'first replicas \[1\].*no variable was'):
            _multiworker._assign_agreed(_Gathering([0, 1]), values, 'ckpt', None)
        np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])

    def test_failure_here_assigns_nothing(self):
        v, values = self._values()
        with self.assertRaisesRegex(_errors.ApplyError, 'Here: MemoryError: no room'):
            _multiworker._assign_agreed(_Gathering([1, 0]), values, 'ckpt', MemoryError('no room'))
        np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


class AgreementTest(parameterized.TestCase):
    def test_all_fresh_or_all_resuming_agree(self):
        _multiworker._agree(np.array([[1, 7], [1, 7], [0, 0]]), _Named())
        _multiworker._agree(np.array([[2, 7], [0, 0], [2, 7]]), _Named())

    def test_mixed_resume_raises(self):
        with self.assertRaisesRegex(_errors.WarmStartError, r'first replicas \[1\] resume'):
            _multiworker._agree(np.array([[1, 7], [2, 7]]), _Named())

    def test_different_models_raise(self):
        with self.assertRaisesRegex(_errors.WarmStartError, 'hold different variables'):
            _multiworker._agree(np.array([[1, 7], [1, 8]]), _Named())


class ReportTest(parameterized.TestCase):
    def test_report_survives_json(self):
        root = self.create_tempdir().full_path
        prefix = testutil.write_checkpoint(
            os.path.join(root, 'model.ckpt'), {'emb': OLD_EMB, 'head': OLD_HEAD}
        )
        old = testutil.write_lines(root, 'old.txt', OLD_WORDS)
        new = testutil.write_lines(root, 'new.txt', NEW_WORDS)
        emb = tf.Variable(tf.ones([ROWS, 3]), name='emb')
        head = tf.Variable(tf.ones([3, 3]), name='head')
        settings = warm_start_hooks.WarmStartSettings(
            prefix,
            var_name_to_vocab_info={'emb': warm_start_hooks.VocabInfo(new, 6, NUM_OOV, old)},
        )
        report = warm_start_hooks.plan(settings, variables=[emb, head])
        self.assertIsNotNone(report.entry('emb').vocab)
        back = warm_start_hooks.WarmStartReport.from_dict(json.loads(report.to_json()))
        self.assertEqual(back, report)


class StrategyTest(parameterized.TestCase):
    def test_plain_and_one_machine_variables_are_not_multi_worker(self):
        self.assertIsNone(_distribute.multi_worker_strategy([tf.Variable(1.0)]))
        with tf.distribute.MirroredStrategy(['/cpu:0']).scope():
            mirrored = tf.Variable(1.0)
        self.assertIsNone(_distribute.multi_worker_strategy([mirrored]))
        self.assertFalse(_distribute.is_multi_worker(None))
        self.assertIsNone(_api.multi_worker_strategy([mirrored]))


if __name__ == '__main__':
    absltest.main()
