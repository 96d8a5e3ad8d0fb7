"""Tests of gathering old rows in bounded chunks (`_gather.py`) against numpy indexing."""

import threading
from unittest import mock

import numpy as np
from absl.testing import absltest
from absl.testing import parameterized
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from warm_start_hooks import _errors
from warm_start_hooks import _gather


class GatherRowsTest(parameterized.TestCase):
    @settings(max_examples=40, deadline=None, derandomize=True, database=None)
    @given(
        n_old=st.integers(1, 12),
        n_out=st.integers(0, 12),
        data=st.data(),
        max_rows=st.integers(1, 13),
    )
    def test_matches_fancy_indexing(self, n_old, n_out, data, max_rows):
        index = np.array(
            data.draw(st.lists(st.integers(-1, n_old - 1), min_size=n_out, max_size=n_out)),
            np.int64,
        )
        old = np.arange(n_old * 3, dtype=np.float32).reshape(n_old, 3)
        reads = []

        def read_rows(start, stop):
            reads.append((start, stop))
            self.assertLessEqual(stop - start, max_rows)
            return old[start:stop]

        out = _gather.gather_rows(read_rows, n_old, index, 3, np.float32, max_rows)
        expected = np.where(index[:, None] >= 0, old[np.maximum(index, 0)], 0)
        np.testing.assert_array_equal(out, expected)
        if not (index >= 0).any():
            self.assertEmpty(reads)

    @settings(max_examples=80, deadline=None, derandomize=True, database=None)
    @given(
        n_old=st.integers(1, 40),
        cuts=st.lists(st.integers(0, 12), min_size=1, max_size=4),
        data=st.data(),
        max_rows=st.integers(1, 13),
        dtype=st.sampled_from([np.float32, np.float64]),
        threads=st.integers(1, 4),
    )
    def test_parts_read_each_old_row_once(self, n_old, cuts, data, max_rows, dtype, threads):
        n_out = sum(cuts)
        index = np.array(
            data.draw(st.lists(st.integers(-1, n_old - 1), min_size=n_out, max_size=n_out)),
            np.int64,
        )
        bounds = [(int(a), int(b)) for a, b in zip(np.cumsum([0] + cuts[:-1]), np.cumsum(cuts))]
        if data.draw(st.booleans()):
            bounds = bounds[::-1]  # Parts in any order.
        old = np.arange(n_old * 3, dtype=np.float32).reshape(n_old, 3)
        read = np.zeros(n_old, int)
        lock = threading.Lock()  # Threads read and report progress at the same time.
        progress_rows = []

        def read_rows(start, stop):
            self.assertLessEqual(stop - start, max_rows)
            with lock:
                read[start:stop] += 1
            return old[start:stop].copy()

        def progress(n):
            with lock:
                progress_rows.append(n)

        outs = _gather.gather_parts(
            read_rows, n_old, index, bounds, 3, dtype, max_rows, progress, threads=threads
        )
        expected = np.where(index[:, None] >= 0, old[np.maximum(index, 0)], 0).astype(dtype)
        self.assertLen(outs, len(bounds))
        for (a, b), out in zip(bounds, outs):
            self.assertEqual(out.dtype, dtype)
            np.testing.assert_array_equal(out, expected[a:b])
        self.assertLessEqual(read.max(initial=0), 1)  # No old row is read twice.
        self.assertEqual(sum(progress_rows), int(np.count_nonzero(index >= 0)))

    def test_thread_pieces_hold_at_most_max_rows(self):
        n_old, max_rows = 1000, 40
        old = np.arange(n_old * 2, dtype=np.float32).reshape(n_old, 2)
        sizes = []

        def read_rows(start, stop):
            sizes.append(stop - start)
            return old[start:stop]

        index = np.random.default_rng(0).permutation(n_old)
        out = _gather.gather_rows(read_rows, n_old, index, 2, np.float32, max_rows, threads=4)
        np.testing.assert_array_equal(out, old[index])
        # Each of 4 threads holds a piece and its copy: 4 * 2 * 5 rows = max_rows.
        self.assertLessEqual(max(sizes), max_rows // 8)

    def test_an_error_on_a_thread_is_raised_and_stops_the_others(self):
        n_old = 400
        old = np.zeros((n_old, 2), np.float32)
        calls = []

        def read_rows(start, stop):
            calls.append(start)
            if len(calls) == 3:
                raise OSError('disk gone')
            return old[start:stop]

        index = np.arange(n_old)
        with self.assertRaisesRegex(OSError, 'disk gone'):
            _gather.gather_rows(read_rows, n_old, index, 2, np.float32, 8, threads=2)
        # After the failure each thread starts at most the piece it was about to read.
        self.assertLess(len(calls), 6)
        self.assertFalse([t for t in threading.enumerate() if t.name.startswith('warm_start')])

    def test_default_threads(self):
        self.assertBetween(_gather.default_threads(), 1, 4)
        with mock.patch.object(_gather.os, 'sched_getaffinity', return_value={0}, create=True):
            self.assertEqual(_gather.default_threads(), 1)

    def test_rows_missing_from_a_read_are_an_error_not_clipped(self):
        old = np.arange(12, dtype=np.float32).reshape(4, 3)

        def short_read(start, stop):
            return old[start : min(stop, 3)]  # The checkpoint lost its last row.

        for max_rows in (4, 2):
            with self.assertRaisesRegex(_errors.ApplyError, 'it changed after the warm start'):
                _gather.gather_rows(short_read, 4, np.array([3, 0]), 3, np.float32, max_rows)


class ChunkBytesTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ('small_variable', 1 << 20, 4 << 20),
        ('sixteenth', 512 << 20, 32 << 20),
        ('large_variable', 8 << 30, 64 << 20),
    )
    def test_auto(self, nbytes, expected):
        with mock.patch.object(_gather, 'available_memory', return_value=64 << 30):
            self.assertEqual(_gather.chunk_bytes('auto', nbytes), expected)

    def test_auto_within_available_memory(self):
        with mock.patch.object(_gather, 'available_memory', return_value=160 << 20):
            self.assertEqual(_gather.chunk_bytes('auto', 8 << 30), 10 << 20)

    def test_given(self):
        self.assertEqual(_gather.chunk_bytes(1000, 1 << 30), 1000)
        self.assertIsNone(_gather.chunk_bytes(None, 1 << 30))

    def test_available_memory(self):
        free = _gather.available_memory()
        if free is not None:
            self.assertGreater(free, 0)


if __name__ == '__main__':
    absltest.main()
