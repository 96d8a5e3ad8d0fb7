"""Remapped values: the numpy path and TensorFlow's `LoadAndRemapMatrix` path.

Do not import this module directly; use `import warm_start_hooks` instead.

The numpy path reads only the old rows a variable needs (`_gather`), once
for all of the variable's parts, and fills rows with no old value (new
tokens, OOV buckets) from the configured initialiser. The `tf_ops` path builds
`GenerateVocabRemapping` once per variable and one `LoadAndRemapMatrix` per
part; both give the same values, which the tests check.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from warm_start_hooks import _errors
from warm_start_hooks import _gather
from warm_start_hooks import _memory
from warm_start_hooks import _plan
from warm_start_hooks import _progress
from warm_start_hooks import _settings
from warm_start_hooks import _variables


def np_dtype(dtype: tf.DType) -> np.dtype:
    return np.dtype(dtype.as_numpy_dtype)


class Remapper:
    """Computes a remapped variable's parts, reading each old row once for all of them."""

    def __init__(self, plan: _plan.Plan, name: str):
        entry = next(e for e in plan.entries if e.id == name)
        self.source = plan.source
        self.key = entry.source_key
        self.target: _variables.Target = plan.targets[name]
        self.remap, self.info, self.old_vocab = plan.remaps[name]
        self.axis = self.info.axis
        self.dtype = np_dtype(self.target.dtype)
        self.src_shape = self.source.shapes[self.key]
        row_bytes = max(1, self.src_shape[1] * self.source.dtypes[self.key].size)
        bound = _gather.chunk_bytes(plan.settings.max_bytes_in_memory, self.target.nbytes)
        self.max_rows = max(1, bound // row_bytes) if bound else self.src_shape[0]
        self.index = self.remap.full_index()
        self._lock = threading.Lock()
        self._fill_rows: np.ndarray | None = None

    def _new_progress(self) -> _progress.Progress:
        found = int(np.count_nonzero(self.index >= 0))
        other = self.target.full_shape[1 - self.axis]
        return _progress.Progress(
            found * other * self.dtype.itemsize, f'Remap of {self.target.name!r}'
        )

    def _concurrent_reads(self) -> bool:
        """Whether the source reads rows on several threads at once (a checkpoint does)."""
        return bool(getattr(self.source, 'concurrent_reads', False))

    def _read(self, start: int, stop: int) -> np.ndarray:
        return self.source.read_rows(self.key, start, stop)

    def missing(self, part: _variables.Part) -> np.ndarray:
        """Bool mask along the vocab axis of `part`: entries with no old value."""
        if self.axis == 0:
            r0 = part.offset[0]
            return self.index[r0 : r0 + part.shape[0]] < 0
        return self.index < 0

    def all_values(self, parts: Sequence[_variables.Part] | None = None) -> list[np.ndarray]:
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

    def _gather(
        self, parts: Sequence[_variables.Part], progress: _progress.Progress
    ) -> list[np.ndarray]:
        if self.axis == 0:
            bounds = [(p.offset[0], p.offset[0] + p.shape[0]) for p in parts]
            lo, hi = bounds[0][0], bounds[-1][1]
            if any(b[0] != a[1] for a, b in zip(bounds, bounds[1:])):
                lo, hi = 0, len(self.index)  # Parts not in order: index the whole variable.
            row_bytes = self.src_shape[1] * self.dtype.itemsize
            return _gather.gather_parts(
                self._read,
                self.src_shape[0],
                self.index[lo:hi],
                [(a - lo, b - lo) for a, b in bounds],
                self.src_shape[1],
                self.dtype,
                self.max_rows,
                progress=lambda n: progress.advance(n * row_bytes),
                threads=_gather.default_threads() if self._concurrent_reads() else 1,
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
                _gather.check_block(block, a, b)
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

    def _compute_fill(self, how: str | tuple[str, str]) -> np.ndarray:
        axis = self.axis
        n_vocab_axis = self.target.full_shape[axis]
        if isinstance(how, tuple):
            vec = self._donor(how[1])
            draws = np.broadcast_to(vec, (n_vocab_axis, len(vec)))
        else:
            mean, std = self._old_stats()
            if how == _settings.NEW_ROW_GAUSSIAN:
                rng = np.random.default_rng(self.info.seed)
                draws = rng.standard_normal((n_vocab_axis, len(mean))) * std + mean
            else:
                draws = np.broadcast_to(mean, (n_vocab_axis, len(mean)))
        draws = draws.astype(self.dtype)
        return draws if axis == 0 else np.ascontiguousarray(draws.T)

    def _donor(self, token: str) -> np.ndarray:
        """The old row (axis 0) or column (axis 1) of the donor `token`."""
        if self.old_vocab is None:  # The plan keeps the old vocabulary for a donor.
            raise _errors.ApplyError(
                f'The old vocabulary of {self.target.name!r} was not kept for the donor token '
                f'{token!r}. This is a bug; please report it. Received: token={token!r}'
            )
        pos = self.old_vocab.find(token, self.remap.old_used)
        if self.axis == 0:
            return self._read(pos, pos + 1)[0]
        n_rows = self.src_shape[0]
        return np.concatenate(
            [
                self._read(a, min(a + self.max_rows, n_rows))[:, pos]
                for a in range(0, n_rows, self.max_rows)
            ]
        )

    def _old_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std over the old vocabulary's rows (axis 0) or columns (axis 1)."""
        axis, old_used = self.axis, self.remap.old_used
        end = self.src_shape[0] if axis == 1 else old_used
        sums: list[np.ndarray] = []
        squares: list[np.ndarray] = []
        for a in range(0, end, self.max_rows):
            block = self._read(a, min(a + self.max_rows, end)).astype(np.float64)
            if axis == 1:
                block = block[:, :old_used].T  # The statistics are per row of the variable.
            sums.append(block.sum(0))
            squares.append((block**2).sum(0))
        if axis == 1:
            s, s2 = np.concatenate(sums), np.concatenate(squares)
        else:
            s, s2 = sums[0], squares[0]
            for more, more2 in zip(sums[1:], squares[1:]):  # In order, as the rows were read.
                s, s2 = s + more, s2 + more2
        mean = s / old_used
        return mean, np.sqrt(np.maximum(s2 / old_used - mean**2, 0.0))


def fill_values(
    info: _settings.VocabInfo,
    part: _variables.Part,
    draw: Any,
    fresh: Callable[[_variables.Part], Any],
) -> Any:
    """What a part's entries with no old value get, part-shaped; None: the remap's own fill.

    `draw` is the backup initializer's full-shape draw; `fresh(part)` gives the
    part's own initial value, and is only called for `new_row_init='fresh'`.
    """
    if info.new_row_init == _settings.NEW_ROW_FRESH:
        return fresh(part)
    if draw is not None:
        r0 = part.offset[0]
        return draw[r0 : r0 + part.shape[0]]
    return None


def backup_draw(info: _settings.VocabInfo, target: _variables.Target) -> Any:
    """The backup initializer called with the variable's full shape."""
    init = info.backup_initializer
    if init is None:
        raise ValueError(f'VocabInfo has no backup_initializer. Received: {info!r}')
    shape = list(target.full_shape)
    try:
        return init(shape, dtype=target.dtype)
    except TypeError:
        return init(shape)


def tf_ops_parts(plan: _plan.Plan, name: str, draw: Any = None) -> list[tf.Tensor]:
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
