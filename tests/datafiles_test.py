"""Tests of `_datafiles.py`: a checkpoint's files, their fingerprint and what changed."""

import os

import numpy as np
import testutil
from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _checkpoint
from warm_start_hooks import _datafiles

VALUES = {'a': np.ones((4, 3), np.float32), 'b': np.zeros((2,), np.int32)}


class FileStateTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.prefix = testutil.write_checkpoint(
            os.path.join(self.create_tempdir().full_path, 'model.ckpt'), VALUES
        )
        source = _checkpoint.CheckpointSource(self.prefix)
        self.shapes, self.dtypes = source.shapes, source.dtypes
        self.state = _datafiles.file_state(self.prefix)

    def test_stable_and_names_the_data_files(self):
        self.assertEqual(_datafiles.file_state(self.prefix), self.state)
        ((name, size),) = self.state[1]
        self.assertEqual(name, 'model.ckpt.data-00000-of-00001')
        self.assertEqual(size, os.path.getsize(self.prefix + '.data-00000-of-00001'))
        self.assertEqual(_datafiles.fingerprint(self.state), _datafiles.fingerprint(self.state))

    @parameterized.named_parameters(
        ('shape', {'a': np.ones((3, 3), np.float32)}, r"'a' was \[4, 3\], now \[3, 3\]"),
        ('dtype', {'b': np.zeros((2,), np.int64)}, r"'b' was int32, now int64"),
        ('gone_and_new', {'a': None, 'c': np.ones(1)}, r"'a' is gone; 'c' is new"),
        ('values', {'a': np.full((4, 3), 2, np.float32)}, 'same tensors and shapes'),
    )
    def test_describe_a_rewrite(self, changes, pattern):
        values = {k: v for k, v in dict(VALUES, **changes).items() if v is not None}
        testutil.write_checkpoint(self.prefix, values)
        self.assertNotEqual(_datafiles.file_state(self.prefix), self.state)
        self.assertRegex(
            _datafiles.describe_change(self.prefix, self.state, self.shapes, self.dtypes),
            pattern,
        )

    def test_describe_a_truncated_data_file(self):
        with open(self.prefix + '.data-00000-of-00001', 'r+b') as f:
            f.truncate(10)
        self.assertRegex(
            _datafiles.describe_change(self.prefix, self.state, self.shapes, self.dtypes),
            r'data file model\.ckpt\.data-00000-of-00001 was \d+ bytes, now 10',
        )


if __name__ == '__main__':
    absltest.main()
