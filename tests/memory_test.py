"""Tests of `_memory`: aligned buffers."""

import numpy as np
from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _memory


class EmptyAlignedTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ('float32', np.float32, (1000, 7)),
        ('int8', np.int8, (3,)),
        ('complex128', np.complex128, (2, 3, 4)),
        ('empty', np.float32, (0, 5)),
    )
    def test_empty_aligned(self, dtype, shape):
        for zeros in (False, True):
            a = _memory.empty_aligned(shape, dtype, zeros=zeros)
            self.assertEqual(a.shape, shape)
            self.assertEqual(a.dtype, dtype)
            self.assertTrue(a.flags.c_contiguous and a.flags.writeable)
            if a.size:
                self.assertEqual(a.ctypes.data % _memory.ALIGNMENT, 0)
            if zeros:
                self.assertFalse(a.any())

    def test_return_free_memory_runs(self):
        _memory.return_free_memory()  # Does nothing visible; must not fail anywhere.


if __name__ == '__main__':
    absltest.main()
