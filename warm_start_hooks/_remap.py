"""Remapped values: the numpy path and TensorFlow's `LoadAndRemapMatrix` path.

Do not import this module directly; use `import warm_start_hooks` instead.

The numpy path reads only the old rows a variable needs, in chunks bounded
by `max_bytes_in_memory` (sized from the variable by default), once for all
of the variable's parts, and fills rows with no old value (new tokens, OOV
buckets) from the configured initialiser. The `tf_ops` path builds
`GenerateVocabRemapping` once per variable and one `LoadAndRemapMatrix` per
part; both give the same values, which the tests check.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import tensorflow as tf

from warm_start_hooks import _errors
from warm_start_hooks import _memory
from warm_start_hooks import _progress
from warm_start_hooks import _settings
from warm_start_hooks import _variables


def np_dtype(dtype: tf.DType) -> np.dtype:
    return np.dtype(dtype.as_numpy_dtype)


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
    if setting != _settings.AUTO:
        return setting
    bound = min(max(nbytes // _AUTO_FRACTION, _AUTO_MIN_BYTES), _AUTO_MAX_BYTES)
    free = available_memory()
    if free:
        bound = min(bound, max(free // _AUTO_FRACTION, 1 << 20))
    return bound


def _check_block(block: np.ndarray, start: int, stop: int) -> None:
    """Rows read must be the rows asked for: an index is never clipped into range."""
    if len(block) != stop - start:
        raise _errors.ApplyError(
            f'The checkpoint gave {len(block)} rows where rows {start}..{stop} were asked for: '
            'it changed after the warm start was planned. Expected the checkpoint to stay '
            'as planned until the warm start ends; plan again. Received: '
            f'rows={len(block)}'
        )


def gather_parts(
    read_rows,
    n_old: int,
    index: np.ndarray,
    bounds,
    ncols: int,
    dtype,
    max_rows: int,
    progress=None,
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
    dtype = np.dtype(dtype)
    outs = [_memory.empty_aligned((b - a, ncols), dtype) for a, b in bounds]
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
        _check_block(block, lo, hi)
        block_rows = _as_rows(block) if block.dtype == dtype else None
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


def _gather_chunked(read_rows, n_old, index, bounds, outs, max_rows, progress):
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
        _check_block(block, start, stop)
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
    read_rows, n_old: int, old_index: np.ndarray, ncols: int, dtype, max_rows: int, progress=None
):
    """`gather_parts` with one part: a `[len(old_index), ncols]` array."""
    bounds = [(0, len(old_index))]
    return gather_parts(read_rows, n_old, old_index, bounds, ncols, dtype, max_rows, progress)[0]


def _as_rows(a: np.ndarray) -> np.ndarray:
    """A C-contiguous array as a 1-D array with one opaque item per row (a view)."""
    row = np.dtype((np.void, max(1, a.dtype.itemsize * int(np.prod(a.shape[1:], dtype=np.int64)))))
    return np.ascontiguousarray(a).view(row).reshape(a.shape[0])


class Remapper:
    """Computes a remapped variable's parts, reading each old row once for all of them."""

    def __init__(self, plan, name: str):
        entry = next(e for e in plan.entries if e.id == name)
        self.source = plan.source
        self.key = entry.source_key
        self.target: _variables.Target = plan.targets[name]
        self.remap, self.info, self.old_vocab = plan.remaps[name]
        self.axis = self.info.axis
        self.dtype = np_dtype(self.target.dtype)
        self.src_shape = self.source.shapes[self.key]
        row_bytes = max(1, self.src_shape[1] * self.source.dtypes[self.key].size)
        bound = chunk_bytes(plan.settings.max_bytes_in_memory, self.target.nbytes)
        self.max_rows = max(1, bound // row_bytes) if bound else self.src_shape[0]
        self.index = self.remap.full_index()
        self._lock = threading.Lock()
        self._fill_rows = None

    def _new_progress(self) -> _progress.Progress:
        found = int(np.count_nonzero(self.index >= 0))
        other = self.target.full_shape[1 - self.axis]
        return _progress.Progress(
            found * other * self.dtype.itemsize, f'Remap of {self.target.name!r}'
        )

    def _read(self, start: int, stop: int) -> np.ndarray:
        return self.source.read_rows(self.key, start, stop)

    def missing(self, part: _variables.Part) -> np.ndarray:
        """Bool mask along the vocab axis of `part`: entries with no old value."""
        if self.axis == 0:
            r0 = part.offset[0]
            return self.index[r0 : r0 + part.shape[0]] < 0
        return self.index < 0

    def all_values(self, parts=None) -> list[np.ndarray]:
        """Values of `parts` (default: all), reading the old matrix once for all of them.

        Rows with no old value hold the fill (zeros by default). Thread-safe.
        """
        parts = self.target.parts if parts is None else parts
        with self._lock:
            _memory.return_free_memory()  # What planning freed, before the values are built.
            progress = self._new_progress()
            try:
                outs = self._gather(parts, progress)
            finally:
                self.source.release(self.key)
        fill = self._fill()
        if fill is not None:
            for part, out in zip(parts, outs):
                mask, r0 = self.missing(part), part.offset[0]
                if self.axis == 0:
                    out[mask] = fill[r0 : r0 + part.shape[0]][mask]
                else:
                    out[:, mask] = fill[r0 : r0 + part.shape[0]][:, mask]
        return outs

    def _gather(self, parts, progress) -> list[np.ndarray]:
        if self.axis == 0:
            bounds = [(p.offset[0], p.offset[0] + p.shape[0]) for p in parts]
            lo, hi = bounds[0][0], bounds[-1][1]
            if any(b[0] != a[1] for a, b in zip(bounds, bounds[1:])):
                lo, hi = 0, len(self.index)  # Parts not in order: index the whole variable.
            row_bytes = self.src_shape[1] * self.dtype.itemsize
            return gather_parts(
                self._read,
                self.src_shape[0],
                self.index[lo:hi],
                [(a - lo, b - lo) for a, b in bounds],
                self.src_shape[1],
                self.dtype,
                self.max_rows,
                progress=lambda n: progress.advance(n * row_bytes),
            )
        outs = []
        present = np.flatnonzero(self.index >= 0)
        cols = self.index[present]
        for part in parts:
            r0, r1 = part.offset[0], part.offset[0] + part.shape[0]
            out = _memory.empty_aligned(part.shape, self.dtype, zeros=True)
            for a in range(r0, r1, self.max_rows):
                b = min(a + self.max_rows, r1)
                block = self._read(a, b)
                _check_block(block, a, b)
                out[a - r0 : b - r0, present] = block[:, cols]
                progress.advance((b - a) * len(present) * self.dtype.itemsize)
            outs.append(out)
        return outs

    def _fill(self) -> np.ndarray | None:
        """Full-shape values for missing entries from `new_row_init`, or None."""
        how = self.info.new_row_init
        if how is None or how == _settings.NEW_ROW_FRESH:
            return None
        with self._lock:
            if self._fill_rows is None:
                self._fill_rows = self._compute_fill(how)
            return self._fill_rows

    def _compute_fill(self, how) -> np.ndarray:
        axis = self.axis
        old_used = self.remap.old_used
        n_rows = self.src_shape[0]
        if isinstance(how, tuple):
            pos = self.old_vocab.find(how[1], old_used)
            if axis == 0:
                vec = self._read(pos, pos + 1)[0]
            else:
                vec = np.concatenate(
                    [
                        self._read(a, min(a + self.max_rows, n_rows))[:, pos]
                        for a in range(0, n_rows, self.max_rows)
                    ]
                )
            mean, std = vec, None
        else:
            # Mean (and std) over the old vocabulary's rows (axis 0) or columns (axis 1).
            s = s2 = None
            count = 0
            for a in range(0, n_rows if axis == 1 else old_used, self.max_rows):
                stop = min(a + self.max_rows, n_rows if axis == 1 else old_used)
                block = self._read(a, stop).astype(np.float64)
                if axis == 1:
                    block = block[:, :old_used].T
                    # For axis 1 the statistics are per row of the variable.
                    part_s, part_s2 = block.sum(0), (block**2).sum(0)
                    s = part_s if s is None else np.concatenate([s, part_s])
                    s2 = part_s2 if s2 is None else np.concatenate([s2, part_s2])
                    count = old_used
                else:
                    s = block.sum(0) if s is None else s + block.sum(0)
                    s2 = (block**2).sum(0) if s2 is None else s2 + (block**2).sum(0)
                    count += stop - a
            mean = s / count
            std = np.sqrt(np.maximum(s2 / count - mean**2, 0.0))
        full = self.target.full_shape
        n_vocab_axis = full[axis]
        if how == _settings.NEW_ROW_GAUSSIAN:
            rng = np.random.default_rng(self.info.seed)
            draws = rng.standard_normal((n_vocab_axis, len(mean))) * std + mean
        else:
            draws = np.broadcast_to(mean, (n_vocab_axis, len(mean)))
        draws = draws.astype(self.dtype)
        return draws if axis == 0 else np.ascontiguousarray(draws.T)


def backup_draw(info: _settings.VocabInfo, target: _variables.Target):
    """The backup initializer called with the variable's full shape."""
    init = info.backup_initializer
    shape = list(target.full_shape)
    try:
        return init(shape, dtype=target.dtype)
    except TypeError:
        return init(shape)


def tf_ops_parts(plan, name: str, draw=None) -> list[tf.Tensor]:
    """Each part's value through GenerateVocabRemapping (once) + LoadAndRemapMatrix."""
    from tensorflow.python.ops import gen_checkpoint_ops

    entry = next(e for e in plan.entries if e.id == name)
    remap, info, _ = plan.remaps[name]
    target = plan.targets[name]
    full = target.full_shape
    mapping, _ = gen_checkpoint_ops.generate_vocab_remapping(
        new_vocab_file=info.new_vocab,
        old_vocab_file=info.old_vocab,
        new_vocab_offset=0,
        num_new_vocab=info.new_vocab_size,
        old_vocab_size=info.old_vocab_size,
    )
    if info.num_oov_buckets:
        mapping = tf.concat(
            [mapping, tf.fill([info.num_oov_buckets], tf.constant(-1, tf.int64))], 0
        )
    out = []
    for part in target.parts:
        r0, nrows = part.offset[0], part.shape[0]
        if info.axis == 0:
            rows = mapping[r0 : r0 + nrows]
            cols = tf.constant([], tf.int64)
            missing = remap.full_index()[r0 : r0 + nrows] < 0
            mask = np.repeat(missing[:, None], full[1], axis=1)
        else:
            rows = tf.range(r0, r0 + nrows, dtype=tf.int64)
            cols = mapping
            missing = remap.full_index() < 0
            mask = np.repeat(missing[None, :], nrows, axis=0)
        if draw is None:
            init_values = tf.zeros([int(mask.sum())], tf.float32)
        else:
            init_values = tf.boolean_mask(tf.convert_to_tensor(draw)[r0 : r0 + nrows], mask)
        out.append(
            gen_checkpoint_ops.load_and_remap_matrix(
                ckpt_path=plan.source.prefix,
                old_tensor_name=entry.source_key,
                row_remapping=rows,
                col_remapping=cols,
                initializing_values=init_values,
                num_rows=nrows,
                num_cols=part.shape[1],
            )
        )
    return out
