"""Tests of checkpoint sources (`_checkpoint.py`)."""

import contextlib
import os
import pathlib
import uuid
from unittest import mock

import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh
from warm_start_hooks import _checkpoint
from warm_start_hooks import _datafiles

tf1 = tf.compat.v1
gfile = tf.io.gfile

# ---- CheckpointFaultTest: remote (ram://) paths, bad and corrupt files -------------

OLD_VOCAB = ['apple', 'banana', 'guava', 'orange']
NEW_VOCAB = ['orange', 'kiwi', 'apple']  # + 1 OOV bucket: the 4 rows of 'emb'.
TENSORS = {
    'emb': np.arange(12, dtype=np.float32).reshape(4, 3) + 1,
    'bias': np.array([5.0, 6.0, 7.0], np.float32),
}
FRESH = {'emb': np.full((4, 3), -1, np.float32), 'bias': np.full((3,), -2, np.float32)}
# 'emb' remapped to NEW_VOCAB: orange, kiwi (new: zeros), apple, then the OOV row (zeros).
REMAPPED = np.stack([TENSORS['emb'][3], np.zeros(3), TENSORS['emb'][0], np.zeros(3)])


def _join(directory, name):
    return f'{directory}/{name}' if '://' in directory else os.path.join(directory, name)


def write_name_based(directory, name='model.ckpt-1', tensors=None):
    """A Saver-style checkpoint (keys are variable names) and the `checkpoint` file."""
    tensors = TENSORS if tensors is None else tensors
    gfile.makedirs(directory)
    prefix = _join(directory, name)
    names = sorted(tensors)
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[''] * len(names),
        tensors=[tf.constant(tensors[n]) for n in names],
    )
    tf1.train.update_checkpoint_state(directory, prefix)
    return prefix


def write_object_based(directory):
    """A `tf.train.Checkpoint` (object graph, keys '<name>/.ATTRIBUTES/VARIABLE_VALUE')."""
    gfile.makedirs(directory)
    ckpt = tf.train.Checkpoint(**{n: tf.Variable(v) for n, v in TENSORS.items()})
    return ckpt.save(_join(directory, 'ckpt'))


def write_file(path, content):
    if isinstance(content, list):
        content = ''.join(t + '\n' for t in content)
    if gfile.exists(path):
        gfile.remove(path)  # TensorFlow's ram:// file system appends on 'wb'.
    with gfile.GFile(path, 'wb') as f:
        f.write(content.encode('utf-8') if isinstance(content, str) else content)
    return path


def _data_file(prefix):
    return prefix + '.data-00000-of-00001'


def _truncate(path, keep):
    with gfile.GFile(path, 'rb') as f:
        data = f.read()
    write_file(path, data[:keep])


def _flip_byte(path, pos):
    with gfile.GFile(path, 'rb') as f:
        data = bytearray(f.read())
    data[pos] ^= 0xFF
    write_file(path, bytes(data))


def _missing_path(directory, prefix):
    del prefix
    return _join(directory, 'no_such_model')


def _directory_without_checkpoint_file(directory, prefix):
    del prefix
    other = _join(directory, 'other')
    gfile.makedirs(other)
    write_file(_join(other, 'README'), 'not a checkpoint')
    return other


def _points_to_deleted_files(directory, prefix):
    gfile.remove(prefix + '.index')
    gfile.remove(_data_file(prefix))
    return directory


def _unparsable_checkpoint_file(directory, prefix):
    del prefix
    write_file(_join(directory, 'checkpoint'), 'garbage {{')
    return directory


def _data_truncated_to_30_bytes(directory, prefix):
    _truncate(_data_file(prefix), 30)
    return directory


def _data_short_by_one_byte(directory, prefix):
    _truncate(_data_file(prefix), -1)
    return directory


def _data_file_missing(directory, prefix):
    del directory
    gfile.remove(_data_file(prefix))
    return prefix


def _index_truncated(directory, prefix):
    _truncate(prefix + '.index', 20)
    return directory


def _index_corrupt(directory, prefix):
    _flip_byte(prefix + '.index', 10)
    return directory


def _index_empty(directory, prefix):
    write_file(prefix + '.index', b'')
    return directory


# (name, writer, fault(directory, prefix) -> the path to warm-start from, error, regex).
# The name-based data file holds 'bias' (bytes 0-12) then 'emb' (bytes 12-60).
FAULTS = (
    (
        'missing_path',
        write_name_based,
        _missing_path,
        wsh.CheckpointNotFoundError,
        r'No checkpoint found at .*no_such_model.*Did you mean: .*model\.ckpt-1',
    ),
    (
        'directory_without_checkpoint_file',
        write_name_based,
        _directory_without_checkpoint_file,
        wsh.CheckpointNotFoundError,
        r"holds no checkpoint: no 'checkpoint' file",
    ),
    (
        'checkpoint_file_points_to_deleted_files',
        write_name_based,
        _points_to_deleted_files,
        wsh.CheckpointNotFoundError,
        r"'checkpoint' file in .* points to .*model\.ckpt-1', whose files do not exist",
    ),
    (
        'checkpoint_file_unparsable',
        write_name_based,
        _unparsable_checkpoint_file,
        wsh.CheckpointNotFoundError,
        r"'checkpoint' file in .* cannot be parsed",
    ),
    (
        'data_truncated',
        write_name_based,
        _data_truncated_to_30_bytes,
        wsh.CorruptCheckpointError,
        r"data-00000-of-00001' of checkpoint .* is truncated: it has 30 bytes, but its index "
        r"places tensor 'emb' up to byte 60",
    ),
    (
        'data_short_by_one_byte',
        write_name_based,
        _data_short_by_one_byte,
        wsh.CorruptCheckpointError,
        r'is truncated: it has 59 bytes',
    ),
    (
        'data_file_missing',
        write_name_based,
        _data_file_missing,
        wsh.CorruptCheckpointError,
        r"data-00000-of-00001' of checkpoint .* does not exist; its index lists tensors",
    ),
    (
        'index_truncated',
        write_name_based,
        _index_truncated,
        wsh.CorruptCheckpointError,
        r'cannot be read: .*(too short|sstable)',
    ),
    (
        'index_corrupt',
        write_name_based,
        _index_corrupt,
        wsh.CorruptCheckpointError,
        r'cannot be read: .*(corrupt|checksum)',
    ),
    ('index_empty', write_name_based, _index_empty, wsh.CorruptCheckpointError, r'cannot be read'),
    (
        'object_based_data_short_by_one_byte',
        write_object_based,
        _data_short_by_one_byte,
        wsh.CorruptCheckpointError,
        r'is truncated',
    ),
)


class CheckpointFaultTest(parameterized.TestCase):
    """Bad paths and damaged files fail at plan time, locally and through tf.io.gfile."""

    def _dir(self, fs):
        if fs == 'ram':
            return f'ram://{uuid.uuid4().hex}/model'
        return os.path.join(self.create_tempdir().full_path, 'model')

    # ---- ram:// paths that work ----------------------------------------------------

    @parameterized.named_parameters(
        ('name_based', write_name_based, 'emb'),
        ('object_based', write_object_based, 'emb/.ATTRIBUTES/VARIABLE_VALUE'),
    )
    def test_ram_paths_resolve_to_one_prefix(self, writer, key):
        directory = self._dir('ram')
        prefix = writer(directory)
        self.assertTrue(gfile.isdir(directory))
        self.assertEqual(tf.train.latest_checkpoint(directory), prefix)
        for path in (directory, directory + '/', prefix, prefix + '.index', _data_file(prefix)):
            self.assertEqual(_checkpoint.resolve_prefix(path).rstrip('/'), prefix, path)
        source = _checkpoint.CheckpointSource(directory)
        self.assertEqual(source.prefix, prefix)
        np.testing.assert_array_equal(source.read(key), TENSORS['emb'])
        np.testing.assert_array_equal(source.read_rows(key, 1, 3), TENSORS['emb'][1:3])
        self.assertLen(source.fingerprint(), 64)

    def test_ram_prefix_at_file_system_root(self):
        prefix = f'ram://{uuid.uuid4().hex}'
        names = sorted(TENSORS)
        tf.raw_ops.SaveV2(
            prefix=prefix,
            tensor_names=names,
            shape_and_slices=[''] * 2,
            tensors=[tf.constant(TENSORS[n]) for n in names],
        )
        source = _checkpoint.CheckpointSource(prefix)
        self.assertEqual(source.prefix, prefix)
        self.assertLen(source.fingerprint(), 64)
        np.testing.assert_array_equal(source.read('bias'), TENSORS['bias'])

    @parameterized.named_parameters(('local', 'local'), ('ram', 'ram'))
    def test_warm_start_eager_with_gfile_paths(self, fs):
        directory = self._dir(fs)
        write_name_based(directory)
        new = write_file(_join(directory, 'new.txt'), NEW_VOCAB)
        old = write_file(_join(directory, 'old.txt'), OLD_VOCAB)
        variables = {n: tf.Variable(v, name=n) for n, v in FRESH.items()}
        report = wsh.warm_start(
            directory,
            variables=variables,
            var_name_to_vocab_info={'emb': wsh.VocabInfo(new, 3, 1, old)},
        )
        self.assertTrue(report.applied)
        np.testing.assert_array_equal(variables['emb'].numpy(), REMAPPED)
        np.testing.assert_array_equal(variables['bias'].numpy(), TENSORS['bias'])

    def test_warm_start_eager_object_based_on_ram(self):
        directory = self._dir('ram')
        write_object_based(directory)
        variables = {n: tf.Variable(v, name=n) for n, v in FRESH.items()}
        wsh.warm_start(directory, variables=variables)
        for name, v in variables.items():
            np.testing.assert_array_equal(v.numpy(), TENSORS[name])

    @parameterized.named_parameters(('numpy', 'numpy'), ('tf_ops', 'tf_ops'))
    def test_graph_mode_on_ram_matches_tensorflow(self, backend):
        directory = self._dir('ram')
        write_name_based(directory)
        new = write_file(_join(directory, 'new.txt'), NEW_VOCAB)
        old = write_file(_join(directory, 'old.txt'), OLD_VOCAB)

        def run(warm_start):
            with tf.Graph().as_default():
                variables = {n: tf1.get_variable(n, initializer=v) for n, v in FRESH.items()}
                warm_start()
                with tf1.Session() as sess:
                    sess.run(tf1.global_variables_initializer())
                    return sess.run(variables)

        ours = run(
            lambda: wsh.warm_start(
                directory,
                var_name_to_vocab_info={'emb': wsh.VocabInfo(new, 3, 1, old)},
                remap_backend=backend,
            )
        )
        theirs = run(
            lambda: tf1.train.warm_start(
                directory,
                var_name_to_vocab_info={'emb': tf1.train.VocabInfo(new, 3, 1, old)},
            )
        )
        for name in FRESH:
            np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)
        np.testing.assert_array_equal(ours['emb'], REMAPPED)

    def test_vocab_missing_on_ram(self):
        directory = self._dir('ram')
        write_name_based(directory)
        old = write_file(_join(directory, 'old.txt'), OLD_VOCAB)
        info = wsh.VocabInfo(_join(directory, 'no_such.txt'), 3, 1, old)
        variables = {n: tf.Variable(v, name=n) for n, v in FRESH.items()}
        with self.assertRaisesRegex(wsh.WarmStartError, r'Vocabulary file not found.*no_such'):
            wsh.warm_start(directory, variables=variables, var_name_to_vocab_info={'emb': info})
        np.testing.assert_array_equal(variables['emb'].numpy(), FRESH['emb'])

    @parameterized.named_parameters(
        (
            'data_truncated',
            _data_truncated_to_30_bytes,
            r'hold 30 bytes, fewer than the 60 bytes of tensors its index lists',
        ),
        ('data_file_missing', _data_file_missing, r'has an index but no data file'),
    )
    def test_index_this_reader_cannot_parse_falls_back_to_sizes(self, fault, pattern):
        # When `_table` cannot parse the index, the data files must still hold at
        # least the bytes of the fixed-width tensors TensorFlow's reader lists.
        path = self._faulty('local', write_name_based, fault)
        unparsable = mock.patch.object(
            _datafiles._table,
            'table_entries',
            side_effect=_datafiles._table.BundleFormatError('unknown table'),
        )
        with unparsable, self.assertRaisesRegex(wsh.CorruptCheckpointError, pattern):
            _checkpoint.CheckpointSource(path)

    # ---- faults: one clear error at plan time, nothing changed -----------------------

    def _faulty(self, fs, writer, fault):
        directory = self._dir(fs)
        prefix = writer(directory)
        return fault(directory, prefix)

    @parameterized.named_parameters(
        *[(f'{f[0]}_{fs}', fs) + f[1:] for f in FAULTS for fs in ('local', 'ram')]
    )
    def test_source_raises(self, fs, writer, fault, error, pattern):
        path = self._faulty(fs, writer, fault)
        with self.assertRaisesRegex(error, pattern):
            _checkpoint.CheckpointSource(path)

    @parameterized.named_parameters(*FAULTS)
    def test_eager_nothing_changed(self, writer, fault, error, pattern):
        del error
        path = self._faulty('local', writer, fault)
        variables = {n: tf.Variable(v, name=n) for n, v in FRESH.items()}
        with self.assertRaisesRegex(wsh.WarmStartError, pattern) as cm:
            wsh.warm_start(path, variables=variables)
        self.assertLen(cm.exception.problems, 1)
        for name, v in variables.items():
            np.testing.assert_array_equal(v.numpy(), FRESH[name], err_msg=name)

    @parameterized.named_parameters(*FAULTS)
    def test_graph_nothing_changed(self, writer, fault, error, pattern):
        del error
        path = self._faulty('local', writer, fault)
        with tf.Graph().as_default():
            variables = {n: tf1.get_variable(n, initializer=v) for n, v in FRESH.items()}
            before = {n: v.initializer for n, v in variables.items()}
            with self.assertRaisesRegex(wsh.WarmStartError, pattern):
                wsh.warm_start(path)
            for name, v in variables.items():
                self.assertIs(v.initializer, before[name])
            with tf1.Session() as sess:
                sess.run(tf1.global_variables_initializer())
                values = sess.run(variables)
        for name, value in values.items():
            np.testing.assert_array_equal(value, FRESH[name], err_msg=name)


# ---- CheckpointSourceScenarioTest: TensorFlow's checkpoint_utils_test scenarios ------------
# Scenarios 32-36 (load_variable, list_variables) and 46-50 (checkpoints_iterator,
# wait_for_new_checkpoint) of TensorFlow's checkpoint_utils_test, as tests of
# CheckpointSource, compared with TensorFlow's own functions on the same files.


def _cu_checkpoint(directory):
    """var1 [1,10], var2 [10,10], var3 [100,100], useful_scope/var4 [9,9] at `model-0`."""
    rng = np.random.default_rng(11)
    values = {
        'var1': rng.uniform(-1, 1, [1, 10]).astype(np.float32),
        'var2': rng.uniform(-1, 1, [10, 10]).astype(np.float32),
        'var3': rng.uniform(-1, 1, [100, 100]).astype(np.float32),
        'useful_scope/var4': rng.uniform(-1, 1, [9, 9]).astype(np.float32),
    }
    with tf.Graph().as_default():
        for name, value in values.items():
            tf1.get_variable(name, initializer=tf.constant(value))
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            tf1.train.Saver().save(sess, os.path.join(directory, 'model'), global_step=0)
    return values


class CheckpointSourceScenarioTest(parameterized.TestCase):
    """CheckpointSource against tf.train.load_variable / list_variables / iterators."""

    def setUp(self):
        super().setUp()
        self.dir = self.create_tempdir().full_path

    def test_tf32_no_checkpoints(self):
        path = os.path.join(self.dir, 'no_checkpoints')
        with self.assertRaises(tf.errors.OpError):
            tf.train.load_variable(path, 'var1')
        with self.assertRaisesRegex(wsh.CheckpointNotFoundError, 'No checkpoint found at'):
            _checkpoint.CheckpointSource(path)

    def test_tf33_no_tensor(self):
        _cu_checkpoint(self.dir)
        with self.assertRaises(tf.errors.OpError):
            tf.train.load_variable(self.dir, 'var5')
        src = _checkpoint.CheckpointSource(self.dir)
        self.assertIsNone(src.key_for('var5'))
        self.assertNotIn('var5', src.keys)
        with self.assertRaisesRegex(KeyError, "has no tensor 'var5'"):
            src.read('var5')

    def test_tf34_get_tensor(self):
        values = _cu_checkpoint(self.dir)
        src = _checkpoint.CheckpointSource(self.dir)
        self.assertEqual(src.prefix, os.path.join(self.dir, 'model-0'))
        for name, value in values.items():
            np.testing.assert_array_equal(src.read(name), value)
            np.testing.assert_array_equal(src.read(name), tf.train.load_variable(self.dir, name))
        np.testing.assert_array_equal(src.read_rows('var3', 10, 30), values['var3'][10:30])

    def test_tf35_get_all_variables(self):
        _cu_checkpoint(self.dir)
        src = _checkpoint.CheckpointSource(self.dir)
        ours = [(k, list(src.shapes[k])) for k in src.keys]
        self.assertEqual(ours, tf.train.list_variables(self.dir))
        self.assertEqual(
            ours,
            [
                ('useful_scope/var4', [9, 9]),
                ('var1', [1, 10]),
                ('var2', [10, 10]),
                ('var3', [100, 100]),
            ],
        )
        self.assertFalse(src.object_based)
        self.assertEqual(src.names(), src.keys)

    def test_tf36_fs_path(self):
        values = _cu_checkpoint(self.dir)
        path = pathlib.Path(self.dir)
        src = _checkpoint.CheckpointSource(path)
        self.assertEqual(src.requested, self.dir)
        np.testing.assert_array_equal(src.read('var1'), values['var1'])
        np.testing.assert_array_equal(src.read('var1'), tf.train.load_variable(path, 'var1'))
        self.assertEqual(
            [(k, list(src.shapes[k])) for k in src.keys], tf.train.list_variables(path)
        )

    def test_bytes_paths(self):
        # Estimator.export_saved_model() returns bytes; TensorFlow reads a bytes prefix.
        values = _cu_checkpoint(self.dir)
        prefix = tf.train.latest_checkpoint(self.dir)
        for path in (self.dir.encode(), prefix.encode()):
            src = _checkpoint.CheckpointSource(path)
            self.assertEqual(src.prefix, prefix)
            self.assertEqual(src.requested, os.fsdecode(path))
            np.testing.assert_array_equal(src.read('var1'), values['var1'])
        np.testing.assert_array_equal(
            src.read('var2'), tf.train.load_checkpoint(prefix.encode()).get_tensor('var2')
        )

    @parameterized.named_parameters(('eager', False), ('graph', True))
    def test_tf46_no_checkpoint_found(self, graph):
        # TensorFlow's iterator yields nothing; a source fails at once, naming the path.
        path = os.path.join(self.dir, 'no_checkpoints_found')
        self.assertEqual(list(tf.train.checkpoints_iterator(path, timeout=0)), [])
        with tf.Graph().as_default() if graph else contextlib.nullcontext():
            with self.assertRaisesRegex(wsh.CheckpointNotFoundError, 'no_checkpoints_found'):
                _checkpoint.CheckpointSource(path)
        self.assertFalse(gfile.exists(path))

    @parameterized.named_parameters(('eager', False), ('graph', True))
    def test_tf47_single_checkpoint(self, graph):
        a = tf.Variable(5.0)
        prefix = tf.train.Checkpoint(a=a).save(os.path.join(self.dir, 'model.ckpt'))
        self.assertEqual(list(tf.train.checkpoints_iterator(self.dir, timeout=0)), [prefix])
        with tf.Graph().as_default() if graph else contextlib.nullcontext():
            src = _checkpoint.CheckpointSource(self.dir)
        self.assertEqual(src.prefix, prefix)
        self.assertTrue(src.object_based)
        self.assertEqual(src.key_for('a'), 'a/.ATTRIBUTES/VARIABLE_VALUE')
        self.assertEqual(src.read(src.key_for('a')), 5.0)

    def test_tf48_single_sharded_checkpoint(self):
        with tf.Graph().as_default():
            tf1.train.get_or_create_global_step()
            with tf.device('/cpu:0'):
                tf1.get_variable('v1', initializer=10.0)
            with tf.device('/cpu:1'):
                tf1.get_variable('v2', initializer=20.0)
            config = tf1.ConfigProto(device_count={'CPU': 2})
            with tf1.Session(config=config) as sess:
                sess.run(tf1.global_variables_initializer())
                saver = tf1.train.Saver(sharded=True)
                saver.save(sess, os.path.join(self.dir, 'model.ckpt'), global_step=0)
        (prefix,) = list(tf.train.checkpoints_iterator(self.dir, timeout=0))
        src = _checkpoint.CheckpointSource(self.dir)
        self.assertEqual(src.prefix, prefix)
        shards = _datafiles.data_files(src.prefix)
        self.assertLen(shards, 3)  # One per device: global_step, v1, v2.
        self.assertEqual({n for _, _, n in shards}, {3})
        self.assertEqual(src.keys, ['global_step', 'v1', 'v2'])
        self.assertEqual((src.read('v1'), src.read('v2')), (10.0, 20.0))
        # The fingerprint covers every shard.
        before = src.fingerprint()
        with gfile.GFile(shards[1][0], 'ab') as f:
            f.write(b'x')
        self.assertNotEqual(_checkpoint.CheckpointSource(self.dir).fingerprint(), before)

    def test_tf49_no_waiting_for_a_missing_directory(self):
        # TensorFlow's iterator polls until timeout_fn says stop; a source does not wait.
        calls = []

        def timeout_fn():
            calls.append(1)
            return len(calls) > 3

        missing = os.path.join(self.dir, 'non-existent-dir')
        self.assertEqual(
            list(tf.train.checkpoints_iterator(missing, timeout=0.01, timeout_fn=timeout_fn)), []
        )
        self.assertLen(calls, 4)
        with self.assertRaisesRegex(wsh.CheckpointNotFoundError, 'non-existent-dir'):
            _checkpoint.CheckpointSource(missing)

    def test_tf50_resolved_once(self):
        # wait_for_new_checkpoint finds nothing newer than `last`; likewise a source
        # keeps the checkpoint it resolved when a newer one is written.
        def save(step, value):
            with tf.Graph().as_default():
                tf1.get_variable('w', initializer=value)
                with tf1.Session() as sess:
                    sess.run(tf1.global_variables_initializer())
                    return tf1.train.Saver().save(
                        sess, os.path.join(self.dir, 'model'), global_step=step
                    )

        from tensorflow.python.training import checkpoint_utils  # Not in the public API.

        first = save(0, 1.0)
        self.assertIsNone(
            checkpoint_utils.wait_for_new_checkpoint(
                self.dir, first, seconds_to_sleep=0.01, timeout=0.02
            )
        )
        src = _checkpoint.CheckpointSource(self.dir)
        second = save(1, 2.0)
        self.assertEqual(tf.train.latest_checkpoint(self.dir), second)
        self.assertEqual(src.prefix, first)
        self.assertEqual(src.read('w'), 1.0)
        self.assertEqual(_checkpoint.CheckpointSource(self.dir).read('w'), 2.0)


# ---- CheckpointSourceRowsTest: read_rows through the bundle index -----------------


def _rows_values(shape, dtype, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 100).astype(dtype)


class RepeatedNamesTest(absltest.TestCase):
    def test_repeated_saved_names_keep_every_key(self):
        module = tf.Module()
        module.w1 = tf.Variable(np.ones((2, 3), np.float32))  # Both unnamed: 'Variable'.
        module.w2 = tf.Variable(np.zeros((3,), np.float32))
        prefix = tf.train.Checkpoint(model=module).save(
            os.path.join(self.create_tempdir().full_path, 'ckpt')
        )
        src = _checkpoint.CheckpointSource(prefix)
        keys = ['model/w1/.ATTRIBUTES/VARIABLE_VALUE', 'model/w2/.ATTRIBUTES/VARIABLE_VALUE']
        self.assertCountEqual(src.keys_for('Variable'), keys)
        self.assertIsNone(src.key_for('Variable'))  # Not 'the first one'.
        self.assertEqual(src.keys_for('model/w2'), keys[1:])
        self.assertEqual(src.key_for(keys[0]), keys[0])
        self.assertIn('Variable', src.names())


class CheckpointSourceRowsTest(parameterized.TestCase):
    """`CheckpointSource.read_rows`, which reads through `_bundle` where it can."""

    def setUp(self):
        super().setUp()
        self.values = {
            'emb': _rows_values((40, 6), np.float32),
            'ids': _rows_values((9,), np.int64),
            'words': np.array([b'a', b'b', b'c']),
        }
        self.prefix = os.path.join(self.create_tempdir().full_path, 'ckpt')
        self.sliced = _rows_values((4, 6), np.float32, seed=5)
        # 'part' is saved as two slices, as a partitioned variable is.
        names = sorted(self.values) + ['part', 'part']
        tf.raw_ops.SaveV2(
            prefix=self.prefix,
            tensor_names=names,
            shape_and_slices=[''] * len(self.values) + ['4 6 0,2:-', '4 6 2,2:-'],
            tensors=[self.values[n] for n in sorted(self.values)]
            + [self.sliced[:2], self.sliced[2:]],
        )
        self.source = _checkpoint.CheckpointSource(self.prefix)

    @parameterized.named_parameters(
        ('middle', 'emb', 3, 17),
        ('whole', 'emb', 0, 40),
        ('empty', 'emb', 5, 5),
        ('one_d', 'ids', 2, 7),
        ('strings', 'words', 1, 3),
    )
    def test_equals_get_tensor(self, key, start, stop):
        want = tf.train.load_checkpoint(self.prefix).get_tensor(key)[start:stop]
        np.testing.assert_array_equal(self.source.read_rows(key, start, stop), want)

    @parameterized.named_parameters(
        ('beyond_the_end', 'emb', 35, 41),
        ('negative', 'emb', -1, 3),
        ('reversed', 'ids', 5, 4),
        ('strings', 'words', 2, 4),
    )
    def test_rows_are_never_clipped(self, key, start, stop):
        # A clipped range would repeat or drop rows silently.
        with self.assertRaisesRegex(IndexError, rf'Rows {start}\.\.{stop} of tensor'):
            self.source.read_rows(key, start, stop)

    def test_unchanged_until_rewritten(self):
        self.source.check_unchanged()
        testutil.write_checkpoint(self.prefix, {'emb': self.values['emb'][:10]})
        with self.assertRaisesRegex(
            wsh.ApplyError, r"changed between planning and applying: .*'emb' was \[40, 6\], now"
        ):
            self.source.check_unchanged()

    def test_partial_read_reads_only_those_rows(self):
        bundle = _checkpoint._bundle
        with (
            mock.patch.object(
                bundle, 'read_location_rows', wraps=bundle.read_location_rows
            ) as rows,
            mock.patch.object(self.source, 'read', wraps=self.source.read) as whole,
        ):
            self.source.read_rows('emb', 10, 20)
            self.source.read_rows('emb', 12, 15)  # Within the block held: no read.
            self.source.read_rows('emb', 20, 30)
        self.assertEqual([c.args[1:] for c in rows.call_args_list], [(10, 20), (20, 30)])
        whole.assert_not_called()

    def test_whole_tensor_is_read_once_until_released(self):
        with mock.patch.object(self.source, 'read', wraps=self.source.read) as whole:
            for start in range(0, 40, 10):
                self.source.read_rows('emb', 0, 40)
                self.source.read_rows('emb', start, start + 10)
            self.source.release('emb')
            self.source.read_rows('emb', 0, 40)
        self.assertEqual(whole.call_count, 2)

    def test_tensor_saved_in_slices_falls_back_to_tensorflow(self):
        want = tf.train.load_checkpoint(self.prefix).get_tensor('part')
        np.testing.assert_array_equal(want, self.sliced)
        self.assertIsNone(_checkpoint._bundle.BundleIndex.open(self.prefix).location('part'))
        np.testing.assert_array_equal(self.source.read_rows('part', 1, 3), self.sliced[1:3])

    def test_unparsable_index_falls_back_to_tensorflow(self):
        with mock.patch.object(
            _checkpoint._bundle.BundleIndex,
            'open',
            side_effect=_checkpoint._bundle.BundleFormatError('unknown'),
        ):
            source = _checkpoint.CheckpointSource(self.prefix)
            np.testing.assert_array_equal(source.read_rows('emb', 4, 9), self.values['emb'][4:9])

    def test_data_file_removed_after_open(self):
        os.remove(self.prefix + '.data-00000-of-00001')
        with self.assertRaisesRegex(wsh.CorruptCheckpointError, r"rows 1\.\.3 of tensor 'emb'"):
            self.source.read_rows('emb', 1, 3)


if __name__ == '__main__':
    absltest.main()
