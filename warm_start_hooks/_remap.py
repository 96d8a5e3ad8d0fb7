"""Remapped values: the numpy path and TensorFlow's `LoadAndRemapMatrix` path.

Do not import this module directly; use `import warm_start_hooks` instead.

The numpy path reads only the old rows a part needs, in chunks bounded by
`max_bytes_in_memory`, and fills rows with no old value (new tokens, OOV
buckets) from the configured initialiser. The `tf_ops` path builds
`GenerateVocabRemapping` once per variable and one `LoadAndRemapMatrix` per
part; both give the same values, which the tests check.
"""

from __future__ import annotations

import threading

import numpy as np
import tensorflow as tf

from warm_start_hooks import _bundle
from warm_start_hooks import _progress
from warm_start_hooks import _settings
from warm_start_hooks import _variables


def np_dtype(dtype: tf.DType) -> np.dtype:
    return np.dtype(dtype.as_numpy_dtype)


# Rows copied at once from a chunk into the output: bounds the temporary copy.
_PIECE_BYTES = 8 << 20


def gather_rows(
    read_rows, n_old: int, old_index: np.ndarray, ncols: int, dtype, max_rows: int, progress=None
):
    """Rows `old_index` (-1: left zero) of an old matrix, read in row chunks.

    Args:
      read_rows: `(start, stop) -> array` of old rows [start, stop).
      n_old: Rows in the old matrix.
      old_index: Old row for each output row, -1 for none.
      ncols: Columns.
      dtype: Output dtype.
      max_rows: Most old rows held at once.
      progress: Called with the number of output rows filled after each chunk.

    Returns:
      `[len(old_index), ncols]` array.
    """
    valid = old_index >= 0
    n_valid = int(np.count_nonzero(valid))
    if n_valid:
        lo, hi = int(old_index[valid].min()), int(old_index.max()) + 1
        if n_old <= max_rows:
            # The same whole-matrix read for every part: the source reads it once.
            lo, hi = 0, n_old
        if hi - lo <= max_rows:
            # One read covers every row needed: one `take`, no sort, no temporary.
            block = read_rows(lo, hi)
            out = _bundle.empty_aligned((len(old_index), ncols), dtype)
            rows = np.where(valid, old_index - lo, 0)
            if block.dtype == out.dtype:
                np.take(block, rows, axis=0, out=out, mode='clip')
            else:
                out[...] = np.take(block, rows, axis=0)
            out[~valid] = 0
            if progress is not None:
                progress(n_valid)
            return out
    out = _bundle.empty_aligned((len(old_index), ncols), dtype, zeros=True)
    dst = np.flatnonzero(valid)
    if not len(dst) or not out.size:
        return out
    src = old_index[dst]
    order = np.argsort(src, kind='stable')
    src, dst = src[order], dst[order]
    out_rows = _as_rows(out)
    piece = max(1, _PIECE_BYTES // max(1, ncols * out.dtype.itemsize))
    i = 0
    while i < len(src):
        start = int(src[i])
        stop = min(start + max_rows, n_old)
        j = int(np.searchsorted(src, stop, side='left'))
        block = read_rows(start, stop)
        block_rows = _as_rows(block) if block.dtype == out.dtype else None
        # Copied in pieces of `_PIECE_BYTES`: the temporary stays small.
        for a in range(i, j, piece):
            b = min(a + piece, j)
            if block_rows is not None:
                # Rows as single items: one memcpy each, for the gather and the scatter.
                np.put(out_rows, dst[a:b], np.take(block_rows, src[a:b] - start, mode='clip'))
            else:
                out[dst[a:b]] = block[src[a:b] - start]
        del block, block_rows  # Hold one chunk at a time.
        if progress is not None:
            progress(j - i)
        i = j
    return out


def _as_rows(a: np.ndarray) -> np.ndarray:
    """A C-contiguous array as a 1-D array with one opaque item per row (a view)."""
    row = np.dtype((np.void, max(1, a.dtype.itemsize * int(np.prod(a.shape[1:], dtype=np.int64)))))
    return np.ascontiguousarray(a).view(row).reshape(a.shape[0])


class Remapper:
    """Computes a remapped variable part by part, sharing work across parts."""

    def __init__(self, plan, name: str):
        entry = next(e for e in plan.entries if e.name == name)
        self.source = plan.source
        self.key = entry.source_key
        self.target: _variables.Target = plan.targets[name]
        self.remap, self.info, self.old_vocab = plan.remaps[name]
        self.axis = self.info.axis
        self.dtype = np_dtype(self.target.dtype)
        self.src_shape = self.source.shapes[self.key]
        row_bytes = max(1, self.src_shape[1] * self.source.dtypes[self.key].size)
        bound = plan.settings.max_bytes_in_memory
        self.max_rows = max(1, bound // row_bytes) if bound else self.src_shape[0]
        self.index = self.remap.full_index()
        self._lock = threading.Lock()
        self._pending = len(self.target.parts)
        self._fill_rows = None
        self._progress = self._new_progress()

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

    def values(self, part: _variables.Part) -> np.ndarray:
        """The part's values; rows with no old value hold the fill (zeros by default)."""
        row_bytes = part.shape[1] * self.dtype.itemsize
        if self.axis == 0:
            r0 = part.offset[0]
            idx = self.index[r0 : r0 + part.shape[0]]
            out = gather_rows(
                self._read,
                self.src_shape[0],
                idx,
                self.src_shape[1],
                self.dtype,
                self.max_rows,
                progress=lambda n: self._progress.advance(n * row_bytes),
            )
        else:
            r0, r1 = part.offset[0], part.offset[0] + part.shape[0]
            out = _bundle.empty_aligned(part.shape, self.dtype, zeros=True)
            present = np.flatnonzero(self.index >= 0)
            cols = self.index[present]
            for a in range(r0, r1, self.max_rows):
                b = min(a + self.max_rows, r1)
                out[a - r0 : b - r0, present] = self._read(a, b)[:, cols]
                self._progress.advance((b - a) * len(present) * self.dtype.itemsize)
        fill = self._fill()
        if fill is not None:
            mask = self.missing(part)
            if self.axis == 0:
                out[mask] = fill[part.offset[0] : part.offset[0] + part.shape[0]][mask]
            else:
                r0 = part.offset[0]
                out[:, mask] = fill[r0 : r0 + part.shape[0]][:, mask]
        self._done()
        return out

    def _done(self) -> None:
        with self._lock:
            self._pending -= 1
            if self._pending <= 0:
                self.source.release(self.key)
                self._pending = len(self.target.parts)
                self._progress = self._new_progress()

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

    entry = next(e for e in plan.entries if e.name == name)
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
