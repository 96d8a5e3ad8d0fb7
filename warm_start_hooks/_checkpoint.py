"""Checkpoint sources: resolve a path once, read it through one reader.

Do not import this module directly; use `import warm_start_hooks` instead.

A source is resolved to one checkpoint prefix when it is opened; a trainer
that writes newer checkpoints meanwhile does not change what is read.
Name-based (Saver, Estimator) and object-based (`tf.train.Checkpoint`, Keras)
checkpoints are both read. For object-based ones, a model's variables are
bound to tensors through the saved object graph as restore binds them
(`bind`), and a name finds every tensor saved under it (`keys_for`): saved
names repeat, so a name is only a fallback. The source remembers a cheap
fingerprint of its files, so applying a plan can check that they did not
change meanwhile (`check_unchanged`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Any
from typing import Literal

import numpy as np
import tensorflow as tf

from warm_start_hooks import _bundle
from warm_start_hooks import _datafiles
from warm_start_hooks import _errors
from warm_start_hooks import _objgraph

_OBJECT_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH'
_VALUE_SUFFIX = '/.ATTRIBUTES/VARIABLE_VALUE'


def resolve_prefix(path: str | bytes | os.PathLike) -> str:
    """Returns the checkpoint prefix that `path` names.

    Args:
      path: A prefix, a directory with a `checkpoint` file, a SavedModel
        directory, or an `.index` / `.data-*` file of a checkpoint.

    Returns:
      The prefix (the path without `.index`).

    Raises:
      CheckpointNotFoundError: with what was looked for and how to fix it.
    """
    path = os.fsdecode(path)  # bytes too, as Estimator.export_saved_model() returns.
    gfile = tf.io.gfile
    is_dir = gfile.isdir(path)
    if is_dir and gfile.exists(_datafiles.join(path, 'checkpoint')):
        return _latest(path)
    # A prefix is tried before other directories: on some file systems (ram://)
    # `isdir` is also true for a prefix, because files start with it.
    prefix = path
    for suffix in ('.index', '.meta'):
        if prefix.endswith(suffix):
            prefix = prefix[: -len(suffix)]
    if '.data-' in _datafiles.split(prefix)[1]:
        prefix = prefix[: prefix.rindex('.data-')]
    if gfile.exists(prefix + '.index'):
        return prefix
    if is_dir:
        saved_model_vars = _datafiles.join(_datafiles.join(path, 'variables'), 'variables')
        if gfile.exists(saved_model_vars + '.index'):
            return saved_model_vars
        raise _errors.CheckpointNotFoundError(
            f"The directory {path!r} holds no checkpoint: no 'checkpoint' file and no "
            "SavedModel 'variables/variables.index'. Expected a model directory, a "
            'SavedModel or a checkpoint prefix such as model.ckpt-100. '
            f'Received: ckpt_to_initialize_from={path!r}'
        )
    path = prefix
    parent = _datafiles.split(path)[0] or '.'
    tip = ''
    if gfile.isdir(parent):
        near = sorted(
            _datafiles.join(parent, f[: -len('.index')])
            for f in gfile.listdir(parent)
            if f.endswith('.index')
        )
        if near:
            tip = _errors.did_you_mean(path, near) or f' Prefixes there: {", ".join(near[:5])}.'
    raise _errors.CheckpointNotFoundError(
        f'No checkpoint found at {path!r}: {path + ".index"!r} does not exist. Expected a '
        f'checkpoint prefix, a model directory or a SavedModel directory.{tip} '
        f'Received: ckpt_to_initialize_from={path!r}'
    )


def _latest(directory: str) -> str:
    """The prefix a directory's `checkpoint` file names, checked to exist."""
    state = tf.train.get_checkpoint_state(directory)
    named = state.model_checkpoint_path if state is not None else ''
    if not named:
        raise _errors.CheckpointNotFoundError(
            f"The 'checkpoint' file in {directory!r} cannot be parsed or names no checkpoint. "
            'Expected a text CheckpointState with model_checkpoint_path: "...". Pass a '
            f'checkpoint prefix instead, or rewrite the file. '
            f'Received: ckpt_to_initialize_from={directory!r}'
        )
    prefix = tf.train.latest_checkpoint(directory)
    if prefix is None or not tf.io.gfile.exists(prefix + '.index'):
        raise _errors.CheckpointNotFoundError(
            f"The 'checkpoint' file in {directory!r} points to {named!r}, whose files do "
            'not exist (deleted, or written elsewhere). Expected its .index and '
            '.data files beside it. Pass an existing prefix, or fix the checkpoint '
            f'file. Received: ckpt_to_initialize_from={directory!r}'
        )
    return prefix


class CheckpointSource:
    """One checkpoint, resolved and opened once; tensors read from one reader.

    Example:
      >>> src = CheckpointSource('/tmp/model_dir')
      >>> src.key_for('dense/kernel')
      'dense/kernel'
    """

    # `read_rows` may be called from several threads at once: rows are read with
    # positional reads, and a whole tensor once, under its key's lock.
    concurrent_reads = True

    def __init__(self, path: str | os.PathLike):
        self.requested = os.fsdecode(path)
        self.prefix = resolve_prefix(path)
        try:
            # Not tf.train.load_checkpoint: it would resolve the prefix again, and on
            # ram:// a prefix also passes `isdir`.
            self._reader = tf.compat.v1.train.NewCheckpointReader(self.prefix)
            self.shapes = {k: tuple(v) for k, v in self._reader.get_variable_to_shape_map().items()}
            self.dtypes = {
                k: tf.as_dtype(v) for k, v in self._reader.get_variable_to_dtype_map().items()
            }
        except (tf.errors.OpError, ValueError, RuntimeError, IndexError) as e:
            raise _errors.CorruptCheckpointError(
                f'Checkpoint {self.prefix!r} cannot be read: {_first_line(e)}. Expected an '
                'intact .index and .data files (truncated or partly copied?). Re-copy or '
                f'choose another checkpoint. Received: ckpt_to_initialize_from={self.requested!r}'
            ) from None
        _datafiles.check_data_files(self.prefix, self.shapes, self.dtypes)
        # What was planned against; `check_unchanged` compares the files with it.
        self._state = _datafiles.file_state(self.prefix)
        self.object_based = _OBJECT_GRAPH_KEY in self.shapes
        self.graph: _objgraph.SavedGraph | None = None
        self._by_name: dict[str, list[str]] = {}
        self._display: dict[str, str] | None = None
        if self.object_based:
            try:
                data = self._reader.get_tensor(_OBJECT_GRAPH_KEY)
                self.graph = _objgraph.SavedGraph.parse(data, self.shapes)
            except (tf.errors.OpError, ValueError, RuntimeError, IndexError) as e:
                raise _errors.CorruptCheckpointError(
                    f'The object graph of checkpoint {self.prefix!r} cannot be read: '
                    f'{_first_line(e)}. Expected an intact, fully written checkpoint; re-copy '
                    f'it or choose another. Received: ckpt_to_initialize_from={self.requested!r}'
                ) from None
            self._by_name = self.graph.keys_by_full_name()
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        # key -> (start, stop, rows): the block `read_rows` read last.
        self._cache: dict[str, tuple[int, int, np.ndarray]] = {}
        # The parsed .index, read on first use; False when this reader cannot parse it.
        # None: not opened yet; False: this reader cannot parse it (TensorFlow reads it).
        self._bundle_index: _bundle.BundleIndex | Literal[False] | None = None
        self._locations: dict[str, _bundle.TensorLocation | None] = {}

    # ---- names ---------------------------------------------------------
    @property
    def keys(self) -> list[str]:
        """Every tensor key, except the object graph itself."""
        return sorted(k for k in self.shapes if k != _OBJECT_GRAPH_KEY)

    @property
    def root_children(self) -> list[str]:
        """Object-based: the names under the saved root ('model', 'optimizer', ...)."""
        return self.graph.root_children if self.graph is not None else []

    def keys_for(self, name: str) -> list[str]:
        """Every tensor key `name` finds: none, one, or several when saved names repeat.

        `name` may be a key, a variable's name when saved (object-based
        checkpoints keep every variable's, and unnamed variables share one),
        or an object path such as `model/layer_with_weights-0/kernel`, which
        is followed edge by edge through the saved object graph.
        """
        if name in self.shapes and name != _OBJECT_GRAPH_KEY:
            return [name]
        if self.graph is None:
            return []
        found = list(self._by_name.get(name, ()))
        node = self.graph.node_at(name)
        key = self.graph.keys.get(node) if node is not None else None
        if key is not None and key not in found:
            found.append(key)
        return found

    def key_for(self, name: str) -> str | None:
        """The one tensor key `name` finds (see `keys_for`), or None (none, or several)."""
        found = self.keys_for(name)
        return found[0] if len(found) == 1 else None

    def names(self) -> list[str]:
        """Names a user would write: saved variable names and object paths, else keys."""
        if self.graph is None:
            return self.keys
        return sorted(set(self._by_name) | set(self._display_paths().values()))

    def display_name(self, key: str) -> str:
        """How a report names tensor `key`: its object path through the model, else the key."""
        path = self._display_paths().get(key) if self.graph is not None else None
        return path or key.removesuffix(_VALUE_SUFFIX)

    def _display_paths(self) -> dict[str, str]:
        if self._display is None:
            self._display = self.graph.display_paths() if self.graph is not None else {}
        return self._display

    def bind(self, root: Any, variable_ids: Iterable[int]) -> dict[int, str]:
        """id(variable) -> tensor key, for variables below `root`, as restore binds them."""
        if self.graph is None or root is None:
            return {}
        nodes = _objgraph.match(self.graph, root, variable_ids)
        return {i: self.graph.keys[n] for i, n in nodes.items() if n in self.graph.keys}

    # ---- data ----------------------------------------------------------
    def read(self, key: str) -> np.ndarray:
        """The whole tensor `key` as a numpy array.

        Raises:
          KeyError: The checkpoint has no tensor `key`.
          CorruptCheckpointError: The tensor's bytes cannot be read.
        """
        if key not in self.shapes:
            raise KeyError(
                f'Checkpoint {self.prefix!r} has no tensor {key!r}.'
                f'{_errors.did_you_mean(key, self.keys)} Received: key={key!r}'
            )
        try:
            value = self._reader.get_tensor(key)
        except (tf.errors.OpError, ValueError, RuntimeError, IndexError) as e:
            # A short data file raises IndexError ('Read less bytes than requested').
            raise _errors.CorruptCheckpointError(
                f'Reading tensor {key!r} from checkpoint {self.prefix!r} failed: '
                f'{_first_line(e)}. Expected an intact, fully written checkpoint; re-copy it '
                f'or choose another. Received: key={key!r}'
            ) from None
        if tuple(np.shape(value)) != self.shapes[key]:
            self.check_unchanged()  # Names the change when the files were rewritten.
            raise _errors.CorruptCheckpointError(
                f'Tensor {key!r} of checkpoint {self.prefix!r} was read with shape '
                f'{list(np.shape(value))}, but its index says {list(self.shapes[key])}. '
                f'Re-copy the checkpoint or choose another. Received: key={key!r}'
            )
        return value

    def read_rows(self, key: str, start: int, stop: int) -> np.ndarray:
        """Rows `[start, stop)` of a tensor, reading only their bytes where it can.

        A numeric tensor stored whole is read straight from its data file
        through the bundle index (`_bundle`), so memory stays bounded by the
        rows asked for. Others (strings, tensors saved in slices, big-endian
        bundles) are read whole by TensorFlow's reader. The block last read of
        `key` is kept until `release(key)` or the next read of `key`, so parts
        of one variable that need the same rows read them once.

        Args:
          key: The tensor key.
          start: First row, at least 0.
          stop: One past the last row, at most the tensor's rows.

        Returns:
          The rows. Treat them as read-only: they may be shared with other callers.

        Raises:
          KeyError: The checkpoint has no tensor `key`.
          IndexError: `[start, stop)` is not a range of the tensor's rows; rows
            are never clipped, so a wrong index cannot repeat the last row.
          CorruptCheckpointError: The data file is missing or shorter than the index says.
        """
        shape = self.shapes.get(key)
        if not shape:
            return self.read(key)  # A scalar; or no such key, which `read` reports.
        n = shape[0]
        start, stop = int(start), int(stop)
        if not 0 <= start <= stop <= n:
            raise IndexError(
                f'Rows {start}..{stop} of tensor {key!r} were asked for, but checkpoint '
                f'{self.prefix!r} holds rows 0..{n} of it. Received: start={start}, stop={stop}'
            )
        with self._key_lock(key):
            held = self._cache.get(key)
            if held is not None and held[0] <= start and stop <= held[1]:
                return held[2][start - held[0] : stop - held[0]]
            # Drop the previous block before reading the next: memory stays bounded.
            self._cache.pop(key, None)
            held = None
            loc = self._location(key) if (start, stop) != (0, n) else None
            if loc is not None:
                held = (start, stop, self._read_location(loc, start, stop))
            else:
                held = (0, n, self.read(key))
            self._cache[key] = held
        return held[2][start - held[0] : stop - held[0]]

    def release(self, key: str) -> None:
        """Drops what `read_rows` kept of `key`."""
        with self._lock:
            self._cache.pop(key, None)

    def _key_lock(self, key: str) -> threading.Lock:
        with self._lock:
            lock = self._key_locks.get(key)
            if lock is None:
                lock = self._key_locks[key] = threading.Lock()
            return lock

    def _location(self, key: str) -> _bundle.TensorLocation | None:
        """Where `key`'s rows can be read directly, or None (read it whole)."""
        with self._lock:
            if self._bundle_index is None:
                try:
                    self._bundle_index = _bundle.BundleIndex.open(self.prefix)
                except (_errors.Error, tf.errors.OpError, ValueError, OSError):
                    # A table this reader does not know: TensorFlow's reader reads it.
                    self._bundle_index = False
            if self._bundle_index is False:
                return None
            if key not in self._locations:
                self._locations[key] = self._bundle_index.location(key)
            loc = self._locations[key]
        if loc is not None and tuple(loc.shape) != tuple(self.shapes[key]):
            # The index was read after the files were rewritten.
            self.check_unchanged()
            return None
        return loc

    def _read_location(self, loc: _bundle.TensorLocation, start: int, stop: int) -> np.ndarray:
        try:
            return _bundle.read_location_rows(loc, start, stop)
        except (OSError, tf.errors.OpError) as e:
            raise _errors.CorruptCheckpointError(
                f'Reading rows {start}..{stop} of tensor {loc.key!r} from {loc.path!r} failed: '
                f'{_first_line(e)}. Expected the data files of checkpoint {self.prefix!r} beside '
                f'its index; re-copy it or choose another. Received: key={loc.key!r}'
            ) from None

    def fingerprint(self) -> str:
        """sha256 of the index file and the data files' sizes, when the source was opened."""
        return _datafiles.fingerprint(self._state)

    def check_unchanged(self) -> None:
        """Checks that the files are still those planned against (cheap: index and sizes).

        Raises:
          ApplyError: The checkpoint was rewritten or removed since it was
            opened; it names the checkpoint and what changed.
        """
        try:
            same = _datafiles.file_state(self.prefix) == self._state
        except (OSError, tf.errors.OpError):
            same = False
        if same:
            return
        what = _datafiles.describe_change(self.prefix, self._state, self.shapes, self.dtypes)
        raise _errors.ApplyError(
            f'Checkpoint {self.prefix!r} changed between planning and applying: {what}. No '
            'variable was changed. Expected the files planned against to stay in place until '
            'the warm start is applied; plan again against the new files, or warm-start from a '
            f'checkpoint nobody rewrites. Received: prefix={self.prefix!r}'
        )


def _first_line(e: BaseException) -> str:
    text = getattr(e, 'message', None) or str(e)
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__
