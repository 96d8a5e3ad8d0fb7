"""Rows of an old matrix gathered into a new one, in chunks bounded in memory.

Do not import this module directly; use `import warm_start_hooks` instead.

A remap needs the old rows of a variable in a new order (and, for a variable
in parts, cut into its parts). They are read in chunks of at most
`max_bytes_in_memory` (sized from the variable by default), each old row
once for all of the parts. Pure numpy: the reader is a callable.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

from warm_start_hooks import _errors
from warm_start_hooks import _memory
from warm_start_hooks import _settings

# Reads old rows [start, stop) of the matrix being remapped.
ReadRows = Callable[[int, int], np.ndarray]

# Rows copied at once from a chunk into the output: bounds the temporary copy.
_PIECE_BYTES = 8 << 20

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
      progress: Called with the number of output rows filled after each chunk.

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
    _gather_chunked(read_rows, n_old, index, bounds, outs, max_rows, progress)
    return outs


def _gather_chunked(
    read_rows: ReadRows,
    n_old: int,
    index: np.ndarray,
    bounds: Sequence[tuple[int, int]],
    outs: list[np.ndarray],
    max_rows: int,
    progress: Callable[[int], None] | None,
) -> None:
    """`gather_parts` where the rows needed span more than one chunk."""
    for out in outs:
        # Zeroed in order first: the rows scattered later land on pages already mapped,
        # which is about twice as fast as mapping them in scattered order.
        out.fill(0)
    n_chunks = -(-n_old // max_rows)
    small = np.uint16 if n_chunks < np.iinfo(np.uint16).max else np.uint32
    chunk_of = np.full(len(index), np.iinfo(small).max, small)  # Max: no old row.
    valid = index >= 0
    chunk_of[valid] = index[valid] // max_rows
    del valid
    dtype = outs[0].dtype
    out_rows = [_as_rows(out) for out in outs]
    piece = max(1, _PIECE_BYTES // max(1, outs[0].shape[1] * dtype.itemsize))
    for c in np.unique(chunk_of).tolist():
        if c == np.iinfo(small).max:
            continue
        dst = np.flatnonzero(chunk_of == c)  # Output rows, in order: each part is a run.
        src = index[dst]
        start, stop = int(src.min()), int(src.max()) + 1
        block = read_rows(start, stop)
        check_block(block, start, stop)
        block_rows = _as_rows(block) if block.dtype == dtype else None
        for (first, end), out, rows_out in zip(bounds, outs, out_rows):
            lo, hi = np.searchsorted(dst, [first, end]).tolist()
            for a in range(lo, hi, piece):
                b = min(a + piece, hi)
                rows = src[a:b] - start
                if block_rows is not None:
                    # Rows as single items: one memcpy each, for the gather and the scatter.
                    np.put(rows_out, dst[a:b] - first, np.take(block_rows, rows))
                else:
                    out[dst[a:b] - first] = block[rows]
        del block, block_rows  # Hold one chunk at a time.
        if progress is not None:
            progress(len(dst))


def gather_rows(
    read_rows: ReadRows,
    n_old: int,
    old_index: np.ndarray,
    ncols: int,
    dtype: DTypeLike,
    max_rows: int,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """`gather_parts` with one part: a `[len(old_index), ncols]` array."""
    bounds = [(0, len(old_index))]
    return gather_parts(read_rows, n_old, old_index, bounds, ncols, dtype, max_rows, progress)[0]


def _as_rows(a: np.ndarray) -> np.ndarray:
    """A C-contiguous array as a 1-D array with one opaque item per row (a view)."""
    row = np.dtype((np.void, max(1, a.dtype.itemsize * int(np.prod(a.shape[1:], dtype=np.int64)))))
    return np.ascontiguousarray(a).view(row).reshape(a.shape[0])
