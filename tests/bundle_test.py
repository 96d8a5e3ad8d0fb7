"""Tests of `_bundle`: the tensor-bundle index reader and row reads.

Every read is compared with TensorFlow's own reader (`get_tensor`) on the
same checkpoint, value for value.
"""

import os

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _bundle
from warm_start_hooks import _errors
from warm_start_hooks import _table

_DTYPES = (
    tf.float16,
    tf.bfloat16,
    tf.float32,
    tf.float64,
    tf.complex64,
    tf.complex128,
    tf.int8,
    tf.int16,
    tf.int32,
    tf.int64,
    tf.uint8,
    tf.uint16,
    tf.uint32,
    tf.uint64,
    tf.bool,
)
_SHAPES = ((7,), (5, 3), (4, 3, 2), (1, 1), (0, 4), (6, 0))


def _values(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 100
    np_dtype = dtype.as_numpy_dtype
    if dtype.is_complex:
        return (x + 1j * rng.standard_normal(shape)).astype(np_dtype)
    if dtype == tf.bool:
        return x > 0
    if dtype.is_integer:
        return np.abs(x).astype(np.int64).astype(np_dtype)
    return x.astype(np_dtype)


def _save(prefix, tensors, specs=None):
    """Writes a name-based checkpoint (one shard) with `SaveV2`."""
    names = sorted(tensors)
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[(specs or {}).get(n, '') for n in names],
        tensors=[tf.constant(tensors[n]) for n in names],
    )
    return prefix


def _save_sharded(prefix, shards):
    """Writes one checkpoint in `len(shards)` data files, as a sharded `Saver` does."""
    parts = []
    for i, tensors in enumerate(shards):
        part = tf.raw_ops.ShardedFilename(
            basename=prefix + '_temp/part', shard=i, num_shards=len(shards)
        )
        parts.append(_save(part.numpy().decode(), tensors))
    tf.raw_ops.MergeV2Checkpoints(
        checkpoint_prefixes=parts, destination_prefix=prefix, delete_old_dirs=True
    )
    return prefix


def _data_blocks(prefix):
    with open(prefix + '.index', 'rb') as f:
        return len(_table.block_handles(f.read()))


class BundleIndexTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.dir = self.create_tempdir().full_path

    @parameterized.named_parameters(
        (f'{dtype.name}_{"x".join(map(str, shape)) or "scalar"}', dtype, shape)
        for dtype in _DTYPES
        for shape in _SHAPES
    )
    def test_rows_equal_get_tensor(self, dtype, shape):
        values = _values(shape, dtype)
        prefix = _save(
            os.path.join(self.dir, 'ckpt'),
            {'before': np.arange(3, dtype=np.int32), 'x': values, 'z_after': np.ones(2)},
        )
        want = tf.train.load_checkpoint(prefix).get_tensor('x')
        index = _bundle.BundleIndex.open(prefix)
        loc = index.location('x')
        self.assertIsNotNone(loc)
        self.assertEqual(loc.shape, shape)
        self.assertEqual(loc.dtype, np.dtype(dtype.as_numpy_dtype))
        n = shape[0]
        for start, stop in [(0, n), (1, n - 1), (2, 3), (n - 1, n), (3, 3)]:
            if not 0 <= start <= stop <= n:
                continue  # Small shapes: only real ranges are read.
            got = index.read_rows('x', start, stop)
            np.testing.assert_array_equal(got, want[start:stop])
            self.assertEqual(got.dtype, want.dtype)
            self.assertTrue(got.flags.writeable)
        # A range beyond the rows is an error: clipping would hide a wrong index.
        for start, stop in [(-1, n), (0, n + 1), (min(n, 4), min(n, 4) - 1)]:
            with self.assertRaisesRegex(IndexError, 'Rows .* asked for'):
                index.read_rows('x', start, stop)

    def test_many_keys_span_several_data_blocks(self):
        # The index table holds 256 KiB blocks: 5000 long keys need two, each with restarts.
        names = [f'{i:05d}/' + 'layer' * 10 for i in range(5000)]
        tensors = {n: np.full((2, 3), i, np.float32) for i, n in enumerate(names)}
        prefix = _save(os.path.join(self.dir, 'ckpt'), tensors)
        self.assertGreater(_data_blocks(prefix), 1)
        index = _bundle.BundleIndex.open(prefix)
        self.assertEqual(index.keys, names)
        reader = tf.train.load_checkpoint(prefix)
        for name in names[::97] + names[-3:]:
            np.testing.assert_array_equal(index.read_rows(name, 0, 2), reader.get_tensor(name))

    def test_sharded_checkpoint(self):
        a = _values((6, 4), tf.float32, seed=1)
        b = _values((5,), tf.int64, seed=2)
        c = _values((3, 2, 2), tf.float64, seed=3)
        prefix = _save_sharded(os.path.join(self.dir, 'ckpt'), [{'a': a}, {'b': b, 'c': c}])
        index = _bundle.BundleIndex.open(prefix)
        self.assertEqual(index.num_shards, 2)
        self.assertEqual(index.location('a').path, prefix + '.data-00000-of-00002')
        self.assertEqual(index.location('c').path, prefix + '.data-00001-of-00002')
        reader = tf.train.load_checkpoint(prefix)
        for key, rows in [('a', (2, 5)), ('b', (1, 4)), ('c', (0, 3))]:
            np.testing.assert_array_equal(
                index.read_rows(key, *rows), reader.get_tensor(key)[rows[0] : rows[1]]
            )

    def test_object_based_checkpoint(self):
        v = tf.Variable(_values((8, 3), tf.float32))
        prefix = tf.train.Checkpoint(v=v).write(os.path.join(self.dir, 'ckpt'))
        key = 'v/.ATTRIBUTES/VARIABLE_VALUE'
        index = _bundle.BundleIndex.open(prefix)
        np.testing.assert_array_equal(index.read_rows(key, 2, 6), v.numpy()[2:6])
        # The object graph is a string tensor: not read here.
        self.assertIsNone(index.location('_CHECKPOINTABLE_OBJECT_GRAPH'))

    @parameterized.named_parameters(
        ('string', {'x': np.array([b'a', b'bc'])}, {}),
        ('scalar', {'x': np.float32(3)}, {}),
        ('saved_in_slices', {'x': np.ones((2, 3), np.float32)}, {'x': '4 3 0,2:-'}),
    )
    def test_not_row_readable(self, tensors, specs):
        prefix = _save(os.path.join(self.dir, 'ckpt'), tensors, specs)
        index = _bundle.BundleIndex.open(prefix)
        self.assertIsNone(index.location('x'))
        self.assertIsNone(index.read_rows('x', 0, 1))
        self.assertIsNone(index.location('no_such_key'))

    def test_big_endian_bundle_is_not_row_readable(self):
        prefix = _save(os.path.join(self.dir, 'ckpt'), {'x': np.ones((2, 3), np.float32)})
        index = _bundle.BundleIndex.open(prefix)
        index.little_endian = False
        self.assertIsNone(index.location('x'))

    def test_truncated_data_file(self):
        prefix = _save(os.path.join(self.dir, 'ckpt'), {'x': np.ones((10, 4), np.float32)})
        with open(prefix + '.data-00000-of-00001', 'r+b') as f:
            f.truncate(100)
        index = _bundle.BundleIndex.open(prefix)
        np.testing.assert_array_equal(index.read_rows('x', 0, 6), np.ones((6, 4)))
        with self.assertRaisesRegex(_errors.CorruptCheckpointError, r'ended after 100 bytes'):
            index.read_rows('x', 5, 8)

    @parameterized.named_parameters(
        ('too_short', lambda data: data[:20], 'shorter than a table footer'),
        ('bad_magic', lambda data: data[:-1] + b'\x00', 'magic'),
        ('handle_past_end', lambda data: data[-48:], 'runs past the end'),
    )
    def test_malformed_index(self, corrupt, pattern):
        prefix = _save(os.path.join(self.dir, 'ckpt'), {'x': np.ones(3, np.float32)})
        with open(prefix + '.index', 'rb') as f:
            data = f.read()
        with open(prefix + '.index', 'wb') as f:
            f.write(corrupt(data))
        with self.assertRaisesRegex(_bundle.BundleFormatError, pattern):
            _bundle.BundleIndex.open(prefix)


if __name__ == '__main__':
    absltest.main()
