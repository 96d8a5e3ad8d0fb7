"""Tests for warm_start_hooks._collective: bytes from one task to all through an all-reduce.

A stand-in task records what the sending task broadcasts and replays it to a
receiving task, so the byte stream is checked without a cluster (the
multi-worker tests in multiworker_test.py send it through a real one). The
oracle is the sent arrays themselves: every byte must arrive.
"""

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _collective


class _FakeTask:
    """Stands in for `_collective.Task`: records what the planner sends, replays it elsewhere."""

    def __init__(self, is_planner, sent=None):
        self.is_planner = is_planner
        self.sent = [] if sent is None else sent

    def broadcast(self, data, size):
        if self.is_planner:
            self.sent.append(np.array(data, np.int32))
            return self.sent[-1]
        got = self.sent.pop(0)
        assert got.size == size, (got.size, size)
        return got


class TransportTest(parameterized.TestCase):
    @parameterized.named_parameters(('one_chunk', 1 << 20), ('small_chunks', 12), ('tiny', 4))
    def test_values_arrive_bit_for_bit(self, chunk):
        values = [
            np.array([[1.5, -0.0], [np.nan, np.inf]], np.float32),
            np.array([True, False, True]),
            np.arange(7, dtype=np.int8),
            np.array([1.0, -2.5, 3.25], tf.bfloat16.as_numpy_dtype),
            np.array(3.0, np.float64),
            np.zeros((0, 3), np.float32),
        ]
        layout = [(tf.as_dtype(v.dtype), v.shape) for v in values]
        planner = _FakeTask(True)
        self.assertIsNone(_collective.send_arrays(planner, values, layout, chunk))
        got, error = _collective.receive_arrays(_FakeTask(False, planner.sent), layout, chunk)
        self.assertIsNone(error)
        for want, have in zip(values, got):
            self.assertEqual(have.dtype, want.dtype)
            self.assertEqual(have.shape, want.shape)
            self.assertEqual(have.tobytes(), want.tobytes())

    def test_chunks_cover_the_stream(self):
        self.assertEqual(_collective.chunks(10, 8), [(0, 8), (8, 10)])
        self.assertEqual(_collective.chunks(0, 8), [])
        offsets, total = _collective.stream_layout([3, 8, 0, 1])
        self.assertEqual((offsets, total), ([0, 8, 16, 16], 24))

    def test_bytes_round_trip_through_words(self):
        data = 'héllo'.encode()
        words = _collective._to_int32(data, len(data))
        self.assertEqual(words.dtype, np.int32)
        self.assertEqual(_collective._to_bytes(words, len(data)), data)
        self.assertIsNone(_collective._to_int32(b'', 0))

    def test_payload_bytes_arrive(self):
        planner = _FakeTask(True)
        payload = '{"status": "ok", "é": 1}'.encode()
        self.assertEqual(_collective.broadcast_bytes(planner, payload), payload)
        self.assertEqual(_collective.broadcast_bytes(_FakeTask(False, planner.sent), b''), payload)

    def test_spoilt_stream_still_takes_part_in_every_chunk(self):
        planner = _FakeTask(True)
        values = [np.zeros(10, np.float32)]
        layout = [(tf.float32, (10,))]
        error = _collective.send_arrays(planner, [object()], layout, 8)  # Cannot be packed.
        self.assertIsNotNone(error)
        self.assertLen(planner.sent, 5)  # 40 bytes in chunks of 8, all sent (as zeros).
        got, error = _collective.receive_arrays(_FakeTask(False, planner.sent), layout, 8)
        self.assertIsNone(error)
        np.testing.assert_array_equal(got[0], values[0])


if __name__ == '__main__':
    absltest.main()
