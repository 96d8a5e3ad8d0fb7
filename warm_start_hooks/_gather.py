"""Rows of an old matrix gathered into a new one, in chunks bounded in memory.

Do not import this module directly; use `import warm_start_hooks` instead.

A remap needs the old rows of a variable in a new order (and, for a variable
in parts, cut into its parts). They are read in chunks of at most
`max_bytes_in_memory` (sized from the variable by default), each old row
once for all of the parts. Pure numpy: the reader is a callable.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
from collections.abc import Callable
from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

from warm_start_hooks import _errors
from warm_start_hooks import _memory
from warm_start_hooks import _settings

# Reads old rows [start, stop) of the matrix being remapped.
ReadRows = Callable[[int, int], np.ndarray]

# Bytes of old rows read at once: small enough that the rows a piece scatters
# stay in the CPU's cache (measured: 4 MiB pieces copy about twice as fast as
# 16 MiB ones), large enough that reads stay sequential.
_READ_BYTES = 4 << 20

# Threads that read and copy rows, at most.
_MAX_THREADS = 4

# max_bytes_in_memory='auto': a sixteenth of the variable, within these bounds,
# and at most a sixteenth of the memory available.
_AUTO_FRACTION = 16
_AUTO_MIN_BYTES = 4 << 20
_AUTO_MAX_BYTES = 64 << 20


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux `MemAvailable`), or None."""
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
    except (AttributeError, ValueError, OSError):
        return None


def chunk_bytes(setting: int | str | None, nbytes: int) -> int | None:
    """Bytes of old rows a remap of an `nbytes` variable holds at once; None: all.

    Args:
      setting: `max_bytes_in_memory`: `'auto'`, an int, or None.
      nbytes: The variable's size in bytes.
    """
    if setting is None or isinstance(setting, int):
        return setting
    if setting != _settings.AUTO:
        raise ValueError(
            "max_bytes_in_memory must be 'auto', a positive int or None. "
            f'Received: max_bytes_in_memory={setting!r}'
        )
    bound = min(max(nbytes // _AUTO_FRACTION, _AUTO_MIN_BYTES), _AUTO_MAX_BYTES)
    free = available_memory()
    if free:
        bound = min(bound, max(free // _AUTO_FRACTION, 1 << 20))
    return bound


def check_block(block: np.ndarray, start: int, stop: int) -> None:
    """Rows read must be the rows asked for: an index is never clipped into range."""
    if len(block) != stop - start:
        raise _errors.ApplyError(
            f'The checkpoint gave {len(block)} rows where rows {start}..{stop} were asked for: '
            'it changed after the warm start was planned. Expected the checkpoint to stay '
            'as planned until the warm start ends; plan again. Received: '
            f'rows={len(block)}'
        )


def gather_parts(
    read_rows: ReadRows,
    n_old: int,
    index: np.ndarray,
    bounds: Sequence[tuple[int, int]],
    ncols: int,
    dtype: DTypeLike,
    max_rows: int,
    progress: Callable[[int], None] | None = None,
    threads: int = 1,
) -> list[np.ndarray]:
    """Rows `index` (-1: left zero) of an old matrix, cut into parts, reading each row once.

    Old rows are read in chunks of at most `max_rows`; every part takes its
    rows from a chunk while it is held, so a variable in many parts reads the
    old matrix once, not once per part.

    Args:
      read_rows: `(start, stop) -> array` of old rows [start, stop).
      n_old: Rows in the old matrix.
      index: Old row for each output row, -1 for none.
      bounds: `(first, stop)` rows of `index` that each part holds (parts do
        not overlap; rows in no part are not filled).
      ncols: Columns.
      dtype: Output dtype.
      max_rows: Most old rows held at once.
      progress: Called with the number of output rows filled after each chunk
        (from any of the threads).
      threads: Threads reading and copying rows (`read_rows` must then be
        thread-safe); together they hold at most `max_rows` old rows.

    Returns:
      One `[stop - first, ncols]` array per part.
    """
    dt = np.dtype(dtype)
    outs = [_memory.empty_aligned((b - a, ncols), dt) for a, b in bounds]
    valid = index >= 0
    n_valid = int(np.count_nonzero(valid))
    if not n_valid or not ncols:
        for out in outs:
            out.fill(0)
        return outs
    lo, hi = int(index[valid].min()), int(index.max()) + 1
    if n_old <= max_rows:
        lo, hi = 0, n_old  # The same whole-matrix read for every part: the source reads it once.
    if hi - lo <= max_rows:
        # One read covers every row needed: one `take` per part, no sort, no temporary.
        block = read_rows(lo, hi)
        check_block(block, lo, hi)
        block_rows = _as_rows(block) if block.dtype == dt else None
        for (a, b), out in zip(bounds, outs):
            rows = np.where(valid[a:b], index[a:b] - lo, 0)
            if block_rows is not None:
                # Rows as single items: one memcpy each. The rows were checked in range.
                np.take(block_rows, rows, out=_as_rows(out), mode='clip')
            else:
                out[...] = np.take(block, rows, axis=0)
            out[~valid[a:b]] = 0
        if progress is not None:
            progress(n_valid)
        return outs
    _gather_chunked(read_rows, n_old, index, bounds, outs, max_rows, progress, threads)
    return outs


def _gather_chunked(
    read_rows: ReadRows,
    n_old: int,
    index: np.ndarray,
    bounds: Sequence[tuple[int, int]],
    outs: list[np.ndarray],
    max_rows: int,
    progress: Callable[[int], None] | None,
    threads: int,
) -> None:
    """`gather_parts` where the rows needed span more than one chunk.

    Old rows are read in pieces of at most `max_rows / (2 * threads)` rows (and of
    about `_READ_BYTES`, so that the rows a piece scatters stay in the CPU's
    cache); each of `threads` threads reads its own pieces and copies their
    rows to their places. Parts never share an output row, so threads never
    write the same bytes.
    """
    # Zeroed in order first: the rows scattered later land on pages already mapped,
    # which is about twice as fast as mapping them in scattered order.
    _zero(outs, threads)
    dtype = outs[0].dtype
    row_bytes = max(1, outs[0].shape[1] * dtype.itemsize)
    # Each thread holds a piece and the copy of its rows on their way to the output.
    threads = max(1, min(threads, max_rows // 2))
    step = max(1, min(max_rows // (2 * threads), _READ_BYTES // row_bytes))
    order, offsets = _by_piece(index, step, -(-n_old // step))
    out_rows = [_as_rows(out) for out in outs]
    pieces = [c for c in range(len(offsets) - 1) if offsets[c + 1] > offsets[c]]

    def copy_piece(c: int) -> None:
        dst = order[offsets[c] : offsets[c + 1]]  # Output rows, ascending: each part is a run.
        src = index[dst]
        start, stop = int(src.min()), int(src.max()) + 1
        block = read_rows(start, stop)
        check_block(block, start, stop)
        block_rows = _as_rows(block) if block.dtype == dtype else None
        for (first, end), out, rows_out in zip(bounds, outs, out_rows):
            lo, hi = np.searchsorted(dst, [first, end]).tolist()
            if lo == hi:
                continue
            rows = src[lo:hi] - start
            if block_rows is not None:
                # Rows as single items: one memcpy each, for the gather and the scatter.
                rows_out[dst[lo:hi] - first] = block_rows[rows]
            else:
                out[dst[lo:hi] - first] = block[rows]
        if progress is not None:
            progress(len(dst))

    _run_pieces(copy_piece, pieces, threads)


def _zero(outs: list[np.ndarray], threads: int) -> None:
    """Zeroes `outs` in spans of `_READ_BYTES`, on `threads` threads (numpy releases the GIL)."""
    spans = []
    for out in outs:
        step = max(1, _READ_BYTES // max(1, out[:1].nbytes))
        spans += [(out, a, a + step) for a in range(0, len(out), step)]

    def zero(k: int) -> None:
        out, a, b = spans[k]
        out[a:b] = 0

    _run_pieces(zero, list(range(len(spans))), threads)


def _by_piece(index: np.ndarray, step: int, n_pieces: int) -> tuple[np.ndarray, np.ndarray]:
    """Output rows grouped by the piece of `step` old rows they read, and each group's bounds.

    Returns:
      `(order, offsets)`: `order[offsets[c]:offsets[c + 1]]` are the output rows
      (ascending) whose old row is in piece `c`; rows with no old row come last,
      after `offsets[n_pieces]`.
    """
    small = np.uint16 if n_pieces < np.iinfo(np.uint16).max else np.uint32
    piece_of = np.full(len(index), n_pieces, small)
    valid = index >= 0
    piece_of[valid] = index[valid] // step
    del valid
    # A stable sort of small integers: numpy sorts 16-bit keys by radix, in one pass.
    order = np.argsort(piece_of, kind='stable')
    counts = np.bincount(piece_of, minlength=n_pieces + 1)
    offsets = np.zeros(n_pieces + 1, np.int64)
    np.cumsum(counts[:n_pieces], out=offsets[1:])
    return order, offsets


def _run_pieces(copy_piece: Callable[[int], None], pieces: list[int], threads: int) -> None:
    """Runs `copy_piece` on every piece, on `threads` threads; the first error is raised.

    After an error no thread starts another piece, and every thread has
    stopped when this returns or raises.
    """
    if threads <= 1 or len(pieces) <= 1:
        for c in pieces:
            copy_piece(c)
        return
    failed = threading.Event()

    def worker(k: int) -> None:
        for c in pieces[k::threads]:
            if failed.is_set():
                return
            try:
                copy_piece(c)
            except BaseException:
                failed.set()
                raise

    with concurrent.futures.ThreadPoolExecutor(threads, 'warm_start_gather') as pool:
        futures = [pool.submit(worker, k) for k in range(threads)]
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error


def default_threads() -> int:
    """Threads a remap reads and copies rows with: the CPUs this process may use, at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_THREADS))


def gather_rows(
    read_rows: ReadRows,
    n_old: int,
    old_index: np.ndarray,
    ncols: int,
    dtype: DTypeLike,
    max_rows: int,
    progress: Callable[[int], None] | None = None,
    threads: int = 1,
) -> np.ndarray:
    """`gather_parts` with one part: a `[len(old_index), ncols]` array."""
    bounds = [(0, len(old_index))]
    outs = gather_parts(
        read_rows, n_old, old_index, bounds, ncols, dtype, max_rows, progress, threads
    )
    return outs[0]


def _as_rows(a: np.ndarray) -> np.ndarray:
    """A C-contiguous array as a 1-D array with one opaque item per row (a view)."""
    row = np.dtype((np.void, max(1, a.dtype.itemsize * int(np.prod(a.shape[1:], dtype=np.int64)))))
    return np.ascontiguousarray(a).view(row).reshape(a.shape[0])
