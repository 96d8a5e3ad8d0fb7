"""Tests for warm_start_hooks._h5: Keras 3 `.weights.h5` files as a source.

Files are written with h5py in the layout Keras 3 `save_weights` uses, so the
reader is tested wherever h5py is installed; the layout of live models
(`keras_layout`) is checked against files Keras 3 itself writes.
"""

import importlib
import os

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _errors
from warm_start_hooks import _h5


def _importable(module):
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False


HAS_H5PY = _importable('h5py')
KERAS_3 = _importable('keras') and importlib.import_module('keras').__version__.startswith('3.')

KERNEL = np.arange(12, dtype=np.float32).reshape(4, 3)
BIAS = np.array([0.5, -1.0, 2.0], np.float32)


def _write(path, layers):
    """Writes {group path: (layer name, [arrays])} in Keras 3's `.weights.h5` layout."""
    import h5py

    with h5py.File(path, 'w') as f:
        for group, (name, arrays) in layers.items():
            g = f.create_group(f'{group}/vars' if group else 'vars')
            g.attrs['name'] = name
            for i, a in enumerate(arrays):
                if a.dtype == tf.bfloat16.as_numpy_dtype:
                    ds = g.create_dataset(str(i), data=a.view(np.uint16))
                    ds.attrs['dtype'] = 'bfloat16'
                else:
                    g[str(i)] = a
    return path


@absltest.skipUnless(HAS_H5PY, 'h5py is not installed (it comes with Keras 3)')
class H5SourceTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.root = self.create_tempdir().full_path
        self.path = _write(
            os.path.join(self.root, 'model.weights.h5'),
            {'': ('sequential', []), 'layers/dense': ('head', [KERNEL, BIAS])},
        )

    def test_keys_shapes_dtypes_and_names(self):
        src = _h5.H5Source(self.path)
        self.assertEqual(src.keys, ['layers/dense/vars/0', 'layers/dense/vars/1'])
        self.assertEqual(src.shapes['layers/dense/vars/0'], (4, 3))
        self.assertEqual(src.dtypes['layers/dense/vars/1'], tf.float32)
        self.assertEqual(src.key_for('head/0'), 'layers/dense/vars/0')
        self.assertEqual(src.key_for('layers/dense/vars/1'), 'layers/dense/vars/1')
        self.assertIsNone(src.key_for('head/2'))
        self.assertEqual(
            src.names(), ['head/0', 'head/1', 'layers/dense/vars/0', 'layers/dense/vars/1']
        )
        self.assertTrue(src.object_based)
        self.assertEmpty(src.root_children)
        self.assertEqual((src.prefix, src.requested), (self.path, self.path))

    @parameterized.named_parameters(('all', 0, 4), ('middle', 1, 3), ('end', 2, 4))
    def test_read_and_read_rows(self, start, stop):
        src = _h5.H5Source(self.path)
        np.testing.assert_array_equal(src.read('layers/dense/vars/0'), KERNEL)
        np.testing.assert_array_equal(
            src.read_rows('layers/dense/vars/0', start, stop), KERNEL[start:stop]
        )
        src.release('layers/dense/vars/0')
        np.testing.assert_array_equal(src.read_rows('layers/dense/vars/1', 0, 3), BIAS)

    def test_bfloat16(self):
        value = np.array([[1.5, -2.0]], tf.bfloat16.as_numpy_dtype)
        path = _write(os.path.join(self.root, 'bf.weights.h5'), {'layers/d': ('d', [value])})
        src = _h5.H5Source(path)
        self.assertEqual(src.dtypes['layers/d/vars/0'], tf.bfloat16)
        read = src.read('layers/d/vars/0')
        self.assertEqual(read.dtype, tf.bfloat16.as_numpy_dtype)
        np.testing.assert_array_equal(read.astype(np.float32), [[1.5, -2.0]])

    def test_fingerprint_is_stable_and_follows_the_layout(self):
        first = _h5.H5Source(self.path).fingerprint()
        self.assertEqual(first, _h5.H5Source(self.path).fingerprint())
        other = _write(
            os.path.join(self.root, 'other.weights.h5'),
            {'': ('sequential', []), 'layers/dense': ('head', [KERNEL[:2], BIAS])},
        )
        self.assertNotEqual(first, _h5.H5Source(other).fingerprint())

    def test_missing_file(self):
        path = os.path.join(self.root, 'nope.weights.h5')
        with self.assertRaisesRegex(_errors.CheckpointNotFoundError, 'No Keras weights file'):
            _h5.H5Source(path)

    def test_corrupt_file(self):
        path = os.path.join(self.root, 'bad.weights.h5')
        with open(path, 'wb') as f:
            f.write(b'not an hdf5 file')
        with self.assertRaisesRegex(_errors.CorruptCheckpointError, 'cannot be read'):
            _h5.H5Source(path)

    @parameterized.named_parameters(
        ('weights_h5', 'a/model.weights.h5', True),
        ('plain_h5', 'a/model.h5', False),
        ('checkpoint', 'a/model.ckpt-1', False),
        ('not_a_path', 3, False),
    )
    def test_is_h5_path(self, path, expected):
        self.assertEqual(_h5.is_h5_path(path), expected)

    def test_layout_of_a_non_keras_object_is_empty(self):
        self.assertEqual(_h5.keras_layout(tf.Module()), {})


@absltest.skipUnless(KERAS_3, '.weights.h5 files are written by Keras 3')
class KerasLayoutTest(absltest.TestCase):
    def test_layout_is_where_save_weights_writes_each_variable(self):
        import keras

        model = keras.Sequential(
            [
                keras.Input((3,)),
                keras.layers.Dense(4, name='a'),
                keras.layers.BatchNormalization(),
                keras.layers.Dense(2, name='b'),
            ]
        )
        rng = np.random.default_rng(0)
        for v in model.variables:
            v.assign(rng.normal(size=tuple(v.shape)).astype(np.float32))
        path = os.path.join(self.create_tempdir().full_path, 'm.weights.h5')
        model.save_weights(path)
        layout = _h5.keras_layout(model)
        src = _h5.H5Source(path)
        self.assertLen(model.variables, 8)
        for v in model.variables:
            (key,) = layout[id(v)]
            np.testing.assert_array_equal(src.read(key), v.numpy(), err_msg=v.path)
        self.assertEqual(src.key_for('b/0'), layout[id(model.layers[-1].kernel)][0])


if __name__ == '__main__':
    absltest.main()
