"""Tests of `_table`: a checkpoint's `.index` read as a sorted table, against TensorFlow."""

import os

import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _table


class TableTest(parameterized.TestCase):
    @parameterized.named_parameters(('one_block', 3), ('several_blocks', 5000))
    def test_entries_are_the_checkpoint_keys_in_order(self, n):
        names = [f'{i:05d}/' + 'layer' * 10 for i in range(n)]
        prefix = testutil.write_checkpoint(
            os.path.join(self.create_tempdir().full_path, 'ckpt'),
            {name: np.full(2, i, np.float32) for i, name in enumerate(names)},
        )
        with open(prefix + '.index', 'rb') as f:
            data = f.read()
        keys = [key for key, _ in _table.table_entries(data)]
        # The empty key holds the bundle header; every other key is a tensor, as TF lists them.
        self.assertEqual(keys[0], b'')
        self.assertEqual(
            [k.decode() for k in keys[1:]], [k for k, _ in tf.train.list_variables(prefix)]
        )
        self.assertEqual(len(_table.block_handles(data)) > 1, n > 3)

    def test_compressed_block_is_refused(self):
        prefix = testutil.write_checkpoint(
            os.path.join(self.create_tempdir().full_path, 'ckpt'), {'x': np.ones(3)}
        )
        with open(prefix + '.index', 'rb') as f:
            data = bytearray(f.read())
        # Mark the first data block snappy-compressed.
        (offset, size), *_ = _table.block_handles(bytes(data))
        data[offset + size] = 1
        with self.assertRaisesRegex(_table.BundleFormatError, 'compressed'):
            list(_table.table_entries(bytes(data)))

    @parameterized.named_parameters(
        ('empty', b''),
        ('footer_only_zeros', bytes(48)),
    )
    def test_not_a_table(self, data):
        with self.assertRaisesRegex(_table.BundleFormatError, 'footer'):
            list(_table.table_entries(data))


if __name__ == '__main__':
    absltest.main()
