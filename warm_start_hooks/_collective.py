"""Bytes from one task to all through a strategy's all-reduce.

Do not import this module directly; use `import warm_start_hooks` instead.

`MultiWorkerMirroredStrategy` has no public broadcast across workers, but its
`reduce` sums over every replica of every worker. When one task adds its data
and every other adds zeros, the sum is that data. Summed as int32 words of
the raw bytes, the copy is exact for every dtype (a float sum would turn
-0.0 into 0.0). Large arrays go in chunks of at most `CHUNK_BYTES`, small
ones share a chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

# Bytes sent by one all-reduce at most; small values share one. Of 1 to 128 MiB, 4 to 16
# MiB sent 128 MB fastest between two CPU workers on one machine.
CHUNK_BYTES = 8 << 20

# (tf dtype, shape) of each array sent, as every task knows it.
Layout = Sequence[tuple[Any, Sequence[int]]]


class Task:
    """This task's place among the strategy's replicas."""

    def __init__(self, strategy: Any):
        self.strategy = strategy
        ids: list[int] = []

        def record(ctx: Any) -> tf.Tensor:
            ids.append(int(ctx.replica_id_in_sync_group))
            return tf.zeros([], tf.int32)

        strategy.experimental_distribute_values_from_function(record)
        self.replicas = int(strategy.num_replicas_in_sync)
        self.slot = min(ids)  # This task's first replica: where it contributes.
        self.is_planner = 0 in ids
        resolver = getattr(strategy, 'cluster_resolver', None)
        kind, index = getattr(resolver, 'task_type', None), getattr(resolver, 'task_id', None)
        self.name = f'{kind}:{index}' if kind else f'replica {self.slot}'

    def reduce(self, contribution: np.ndarray | None, size: int, slot: int) -> np.ndarray:
        """Sum over tasks of int32[size] vectors; this task adds `contribution` from `slot`."""

        def value(ctx: Any) -> tf.Tensor:
            if contribution is not None and ctx.replica_id_in_sync_group == slot:
                return tf.constant(contribution, tf.int32)
            return tf.zeros([size], tf.int32)

        per_replica = self.strategy.experimental_distribute_values_from_function(value)
        total = self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
        return np.asarray(total.numpy(), np.int32).reshape(size)

    def gather(self, row: Sequence[int]) -> np.ndarray:
        """int32[replicas, len(row)]: each task's `row` at its first replica's index."""
        k = len(row)
        mine = np.zeros([self.replicas, k], np.int32)
        mine[self.slot] = row
        return self.reduce(mine.ravel(), self.replicas * k, self.slot).reshape(self.replicas, k)

    def broadcast(self, data: np.ndarray | None, size: int) -> np.ndarray:
        """The planner's int32[size] `data` on every task (others pass None)."""
        return self.reduce(data if self.is_planner else None, size, 0)


def broadcast_bytes(task: Task, payload: bytes) -> bytes:
    """The planner's `payload` on every task (others pass `b''`): its length, then its bytes."""
    size = int(task.broadcast(np.array([len(payload)], np.int32), 1)[0])
    return _to_bytes(task.broadcast(_to_int32(payload, size), _words(size)), size)


def _words(nbytes: int) -> int:
    return (nbytes + 3) // 4


def _to_int32(data: bytes, nbytes: int) -> np.ndarray | None:
    if not data:
        return None
    padded = np.zeros(_words(nbytes) * 4, np.uint8)
    padded[:nbytes] = np.frombuffer(data, np.uint8)
    return padded.view(np.int32)


def _to_bytes(words: np.ndarray, nbytes: int) -> bytes:
    return np.ascontiguousarray(words, np.int32).view(np.uint8)[:nbytes].tobytes()


def stream_layout(sizes: Sequence[int]) -> tuple[list[int], int]:
    """Offsets of byte blocks of `sizes` in one stream (each 8-aligned), and its length."""
    offsets, pos = [], 0
    for n in sizes:
        offsets.append(pos)
        pos += (n + 7) // 8 * 8
    return offsets, pos


def chunks(total: int, chunk: int) -> list[tuple[int, int]]:
    """[start, stop) byte ranges of at most `chunk` bytes (a multiple of 4) covering `total`."""
    chunk = max(4, chunk // 4 * 4)
    return [(a, min(a + chunk, total)) for a in range(0, total, chunk)]


def pack(blocks: Sequence[np.ndarray], start: int, stop: int, offsets: Sequence[int]) -> np.ndarray:
    """Bytes [start, stop) of the stream of `blocks` as int32 words."""
    out = np.zeros(stop - start, np.uint8)
    for block, offset in zip(blocks, offsets):
        raw = block.reshape(-1).view(np.uint8)
        a, b = max(start, offset), min(stop, offset + raw.size)
        if a < b:
            out[a - start : b - start] = raw[a - offset : b - offset]
    return out.view(np.int32)


def unpack(
    words: np.ndarray, start: int, buffers: Sequence[np.ndarray], offsets: Sequence[int]
) -> None:
    """Copies stream bytes from `start` (int32 `words`) into the uint8 `buffers`."""
    data = np.ascontiguousarray(words, np.int32).view(np.uint8)
    stop = start + data.size
    for buffer, offset in zip(buffers, offsets):
        a, b = max(start, offset), min(stop, offset + buffer.size)
        if a < b:
            buffer[a - offset : b - offset] = data[a - start : b - start]


def _sizes(layout: Layout) -> list[int]:
    return [int(np.prod(shape, dtype=np.int64)) * dtype.size for dtype, shape in layout]


def send_arrays(
    task: Task, values: Sequence[np.ndarray], layout: Layout, chunk: int
) -> Exception | None:
    """Broadcasts `values` chunk by chunk; returns the error that spoilt them, if any.

    Every chunk is sent even after an error (as zeros), so that every task
    takes part in the same all-reduces; the caller settles the error with
    the other tasks (`Task.gather`).

    Args:
      task: This (the planning) task.
      values: The arrays, in the order of `layout`.
      layout: (tf dtype, shape) of each array, as every task knows it.
      chunk: Bytes per all-reduce at most.
    """
    error: Exception | None = None
    blocks = [np.ascontiguousarray(v) for v in values]
    offsets, total = stream_layout(_sizes(layout))
    for start, stop in chunks(total, chunk):
        words = np.zeros((stop - start) // 4, np.int32)
        if error is None:
            try:
                words = pack(blocks, start, stop, offsets)
            except Exception as e:  # pylint: disable=broad-except
                error = e
        task.broadcast(words, words.size)
    return error


def receive_arrays(
    task: Task, layout: Layout, chunk: int
) -> tuple[list[np.ndarray], Exception | None]:
    """The planner's arrays, and the error that spoilt them here, if any (see `send_arrays`)."""
    error: Exception | None = None
    sizes = _sizes(layout)
    offsets, total = stream_layout(sizes)
    try:
        buffers = [np.empty(n, np.uint8) for n in sizes]
    except MemoryError as e:
        buffers, error = [], e
    for start, stop in chunks(total, chunk):
        words = task.broadcast(None, (stop - start) // 4)
        if error is None:
            try:
                unpack(words, start, buffers, offsets)
            except Exception as e:  # pylint: disable=broad-except
                error = e
    if error is not None:
        return [], error
    out = [b.view(d.as_numpy_dtype).reshape(s) for b, (d, s) in zip(buffers, layout)]
    return out, None
