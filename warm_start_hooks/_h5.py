"""Keras 3 `.weights.h5` files as a warm-start source.

Do not import this module directly; use `import warm_start_hooks` instead.

`H5Source` reads a file written by Keras 3 `model.save_weights('x.weights.h5')`
through the same interface as `CheckpointSource`, so planning, remapping and
reporting treat it like any checkpoint. Keras stores each layer's variables
by position under the layer's place in the model, e.g.
`layers/dense_1/vars/0` for the kernel of the second `Dense` layer; those
paths are the tensor keys. A key can also be written as
`<layer name>/<position>` (e.g. `head/0`), the name stored beside it.
Variables of a live model are bound to keys by that layout (`bind`), so a
model of the same structure warm-starts whatever its names; layer names
repeat, so a `<layer name>/<position>` name finds every key saved under it.

h5py comes with Keras 3 and is imported only when such a file is opened.
Values are assigned in eager mode; TensorFlow's graph-mode ops and the
`'tf_ops'` remap backend read only TensorFlow checkpoints.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from typing import Any

import numpy as np
import tensorflow as tf

from warm_start_hooks import _errors

SUFFIX = '.weights.h5'


def is_h5_path(path: Any) -> bool:
    """Whether `path` names a Keras 3 weights file (it ends in `.weights.h5`)."""
    return isinstance(path, (str, os.PathLike)) and os.fspath(path).endswith(SUFFIX)


def _h5py() -> Any:
    try:
        import h5py  # pylint: disable=g-import-not-at-top
    except ImportError as e:
        raise _errors.FrameworkMissingError(
            'Reading a .weights.h5 file needs h5py, which comes with Keras 3 and cannot be '
            f'imported here ({e}). Install it (pip install h5py), or warm-start from a '
            'TensorFlow checkpoint. Received: module=h5py'
        ) from e
    return h5py


class H5Source:
    """A Keras 3 `.weights.h5` file, opened once, read like a checkpoint.

    Attributes:
      requested: The path as given.
      prefix: The file read (the same path).
      shapes: Tensor key -> shape.
      dtypes: Tensor key -> `tf.DType`.
      object_based: Always True: keys follow the model's structure.
      root_children: Always empty: keys are relative to the saved model.

    Example:
      >>> src = H5Source('/tmp/model.weights.h5')
      >>> src.key_for('head/0')
      'layers/dense_1/vars/0'
    """

    def __init__(self, path: str | os.PathLike):
        self.requested = os.fspath(path)
        self.prefix = self.requested
        h5py = _h5py()
        if not tf.io.gfile.exists(self.prefix):
            raise _errors.CheckpointNotFoundError(
                f'No Keras weights file at {self.prefix!r}. Expected a file written by '
                "model.save_weights('....weights.h5'); check the path. "
                f'Received: ckpt_to_initialize_from={self.requested!r}'
            )
        try:
            self._file = self._open_file(h5py)
            self.shapes: dict[str, tuple[int, ...]] = {}
            self.dtypes: dict[str, tf.DType] = {}
            self._by_name: dict[str, list[str]] = {}
            self._file.visititems(self._index)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise _errors.CorruptCheckpointError(
                f'Keras weights file {self.prefix!r} cannot be read: {_errors.first_line(e)}. '
                'Expected an intact HDF5 file written by save_weights; re-copy it or choose '
                f'another. Received: ckpt_to_initialize_from={self.requested!r}'
            ) from None
        self.object_based = True
        self.root_children: list[str] = []
        self._lock = threading.Lock()
        self._stat = self._file_stat()

    def _open_file(self, h5py: Any) -> Any:
        """The opened HDF5 file (a subclass may read it from elsewhere, e.g. an archive)."""
        if '://' in self.prefix:
            with tf.io.gfile.GFile(self.prefix, 'rb') as f:
                return h5py.File(io.BytesIO(f.read()), 'r')
        return h5py.File(self.prefix, 'r')

    def _index(self, name: str, obj: Any) -> None:
        if not hasattr(obj, 'shape') or not hasattr(obj, 'dtype'):
            return
        self.shapes[name] = tuple(int(d) for d in obj.shape)
        stored = obj.attrs.get('dtype') if hasattr(obj, 'attrs') else None
        if isinstance(stored, bytes):
            stored = stored.decode()
        self.dtypes[name] = tf.bfloat16 if stored == 'bfloat16' else tf.as_dtype(obj.dtype)
        group, _, position = name.rpartition('/')
        layer = self._file[group].attrs.get('name') if group else None
        if isinstance(layer, bytes):
            layer = layer.decode()
        if layer:
            self._by_name.setdefault(f'{layer}/{position}', []).append(name)

    # ---- names ---------------------------------------------------------
    @property
    def keys(self) -> list[str]:
        """Every tensor key (dataset path)."""
        return sorted(self.shapes)

    def keys_for(self, name: str) -> list[str]:
        """Every key `name` finds: a dataset path, or `<layer name>/<position>` (may repeat)."""
        if name in self.shapes:
            return [name]
        return list(self._by_name.get(name, ()))

    def key_for(self, name: str) -> str | None:
        """The one key `name` finds (see `keys_for`), or None (none, or several)."""
        found = self.keys_for(name)
        return found[0] if len(found) == 1 else None

    def names(self) -> list[str]:
        """Names a user may write: dataset paths and `<layer name>/<position>`."""
        return sorted(set(self.shapes) | set(self._by_name))

    def display_name(self, key: str) -> str:
        """How a report names `key`: the dataset path itself."""
        return key

    def bind(self, root: Any, variable_ids: Any = ()) -> dict[int, str]:
        """id(variable) -> the key the file's writer gives it, for the variables of `root`.

        A variable is bound only where its layout names exactly one tensor.
        """
        if root is None:
            return {}
        out = {}
        for var_id, names in self.layout(root).items():
            found = {k for name in names for k in self.keys_for(name)}
            if len(found) == 1:
                out[var_id] = found.pop()
        return out

    def layout(self, root: Any) -> dict[int, list[str]]:
        """id(variable) -> the names the file's writer gives it (Keras 3's `save_weights`)."""
        return keras_layout(root)

    # ---- data ----------------------------------------------------------
    def read(self, key: str) -> np.ndarray:
        """The whole dataset `key` as a numpy array."""
        return self._read(key, slice(None))

    def read_rows(self, key: str, start: int, stop: int) -> np.ndarray:
        """Rows `[start, stop)` of a dataset; HDF5 reads only those. Rows are never clipped.

        Raises:
          IndexError: `[start, stop)` is not a range of the dataset's rows.
        """
        if not self.shapes[key]:
            return self.read(key)
        n, start, stop = self.shapes[key][0], int(start), int(stop)
        if not 0 <= start <= stop <= n:
            raise IndexError(
                f'Rows {start}..{stop} of {key!r} were asked for, but Keras weights file '
                f'{self.prefix!r} holds rows 0..{n} of it. Received: start={start}, stop={stop}'
            )
        return self._read(key, slice(start, stop))

    def release(self, key: str) -> None:
        """Nothing is kept between reads."""

    def _read(self, key: str, rows: slice) -> np.ndarray:
        try:
            with self._lock:
                value = self._file[key][rows] if self.shapes[key] else self._file[key][()]
        except (OSError, ValueError, KeyError) as e:
            raise _errors.CorruptCheckpointError(
                f'Reading {key!r} from Keras weights file {self.prefix!r} failed: '
                f'{_errors.first_line(e)}. Expected an intact file; re-copy it or choose '
                f'another. Received: key={key!r}'
            ) from None
        value = np.asarray(value)
        if self.dtypes[key] == tf.bfloat16:
            value = value.view(tf.bfloat16.as_numpy_dtype)
        return value

    def fingerprint(self) -> str:
        """sha256 of the file's size and its keys, shapes and dtypes: cheap and stable."""
        h = hashlib.sha256()
        h.update(str(self._stat[0]).encode())
        for key in self.keys:
            h.update(f'{key}:{self.shapes[key]}:{self.dtypes[key].name};'.encode())
        return h.hexdigest()

    def _file_stat(self) -> tuple[int, int]:
        stat = tf.io.gfile.stat(self.prefix)  # A rewrite changes the time, if not the size.
        return stat.length, stat.mtime_nsec

    def check_unchanged(self) -> None:
        """Checks that the file was not rewritten since it was opened (its size and time).

        Raises:
          ApplyError: It was rewritten or removed; nothing should be read from it.
        """
        try:
            same = self._file_stat() == self._stat
        except (OSError, tf.errors.OpError):
            same = False
        if not same:
            raise _errors.ApplyError(
                f'Keras weights file {self.prefix!r} changed between planning and applying '
                '(rewritten or removed). No variable was changed. Expected the file planned '
                'against to stay in place until the warm start is applied; plan again. '
                f'Received: prefix={self.prefix!r}'
            )


class RecordingStore:
    """A weights store that records where each variable would be written.

    Keras's saving code calls `store.make(path)` per saveable object, then
    `store[key] = variable`; this records `id(variable)` -> `path/vars/key`.
    """

    def __init__(self) -> None:
        self.found: dict[int, list[str]] = {}
        self.kept: list[Any] = []  # Keeps recorded objects alive: ids stay unique.
        self._path = ''

    def __bool__(self) -> bool:
        return True

    def make(self, path: str, metadata: Any = None) -> RecordingStore:
        del metadata
        self._path = path
        return self

    def __setitem__(self, key: str, value: Any) -> None:
        self.kept.append(value)
        base = f'{self._path}/vars' if self._path else 'vars'
        self.found.setdefault(id(value), []).append(f'{base}/{key}')


def keras_layout(model: Any) -> dict[int, list[str]]:
    """id(variable) -> the `.weights.h5` keys Keras 3 `save_weights` gives it.

    The model is walked by Keras's own saving code with a store that records
    where each variable would be written, so the layout is Keras's exactly.
    Anything that is not a Keras 3 model, or a Keras whose saving code
    differs, gives an empty mapping (then only names match).
    """
    try:
        from keras.src.saving import saving_lib  # pylint: disable=g-import-not-at-top
    except ImportError:
        return {}

    class _Recorder(RecordingStore, saving_lib.H5IOStore):
        """Keras 3's own store type, recording instead of writing."""

        def close(self) -> None:
            pass

    recorder = _Recorder()
    try:
        saving_lib._save_state(  # pylint: disable=protected-access
            model,
            weights_store=recorder,
            assets_store=None,
            inner_path='',
            visited_saveables=set(),
        )
    except Exception:  # pylint: disable=broad-except
        return {}
    return recorder.found
