"""Checkpoint sources: resolve a path once, read it through one reader.

Do not import this module directly; use `import warm_start_hooks` instead.

A source is resolved to one checkpoint prefix when it is opened; a trainer
that writes newer checkpoints meanwhile does not change what is read.
Name-based (Saver, Estimator) and object-based (`tf.train.Checkpoint`, Keras)
checkpoints are both read; for object-based ones, variables are found through
the object graph by the name they had when saved and by their object path.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading

import numpy as np
import tensorflow as tf

from warm_start_hooks import _bundle
from warm_start_hooks import _errors

_OBJECT_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH'
_VALUE_SUFFIX = '/.ATTRIBUTES/VARIABLE_VALUE'


def _join(directory: str, name: str) -> str:
    """`os.path.join` for local paths; '/' for URLs (gs://, s3://, hdfs://, ram://)."""
    if '://' in directory:
        return directory + name if directory.endswith('/') else f'{directory}/{name}'
    return os.path.join(directory, name)


def _split(path: str) -> tuple[str, str]:
    """`os.path.split` that keeps a URL's 'scheme://' (`ram://x` -> `('ram://', 'x')`)."""
    if '://' in path:
        scheme, rest = path.split('://', 1)
        head, _, tail = rest.rpartition('/')
        return f'{scheme}://{head}', tail
    return os.path.split(path)


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
    if is_dir and gfile.exists(_join(path, 'checkpoint')):
        return _latest(path)
    # A prefix is tried before other directories: on some file systems (ram://)
    # `isdir` is also true for a prefix, because files start with it.
    prefix = path
    for suffix in ('.index', '.meta'):
        if prefix.endswith(suffix):
            prefix = prefix[: -len(suffix)]
    if '.data-' in _split(prefix)[1]:
        prefix = prefix[: prefix.rindex('.data-')]
    if gfile.exists(prefix + '.index'):
        return prefix
    if is_dir:
        saved_model_vars = _join(_join(path, 'variables'), 'variables')
        if gfile.exists(saved_model_vars + '.index'):
            return saved_model_vars
        raise _errors.CheckpointNotFoundError(
            f"The directory {path!r} holds no checkpoint: no 'checkpoint' file and no "
            "SavedModel 'variables/variables.index'. Expected a model directory, a "
            'SavedModel or a checkpoint prefix such as model.ckpt-100. '
            f'Received: ckpt_to_initialize_from={path!r}'
        )
    path = prefix
    parent = _split(path)[0] or '.'
    tip = ''
    if gfile.isdir(parent):
        near = sorted(
            _join(parent, f[: -len('.index')])
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
        check_data_files(self.prefix, self.shapes, self.dtypes)
        self.object_based = _OBJECT_GRAPH_KEY in self.shapes
        self.root_children: list[str] = []
        self._aliases: dict[str, str] = {}
        self.slot_keys: dict[str, dict[str, str]] = {}
        if self.object_based:
            try:
                self._index_object_graph()
            except (tf.errors.OpError, ValueError, RuntimeError, IndexError) as e:
                raise _errors.CorruptCheckpointError(
                    f'The object graph of checkpoint {self.prefix!r} cannot be read: '
                    f'{_first_line(e)}. Expected an intact, fully written checkpoint; re-copy '
                    f'it or choose another. Received: ckpt_to_initialize_from={self.requested!r}'
                ) from None
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        # key -> (start, stop, rows): the block `read_rows` read last.
        self._cache: dict[str, tuple[int, int, np.ndarray]] = {}
        # The parsed .index, read on first use; False when this reader cannot parse it.
        self._bundle_index: _bundle.BundleIndex | bool | None = None
        self._locations: dict[str, _bundle.TensorLocation | None] = {}

    # ---- names ---------------------------------------------------------
    @property
    def keys(self) -> list[str]:
        """Every tensor key, except the object graph itself."""
        return sorted(k for k in self.shapes if k != _OBJECT_GRAPH_KEY)

    def key_for(self, name: str) -> str | None:
        """The tensor key for a variable name, or None.

        `name` may be a key, a variable's name when saved, or (object-based)
        its object path such as `model/layer_with_weights-0/kernel`.
        """
        if name in self.shapes and name != _OBJECT_GRAPH_KEY:
            return name
        return self._aliases.get(name)

    def names(self) -> list[str]:
        """Names a user would write: saved variable names, else keys."""
        if not self.object_based:
            return self.keys
        return sorted(n for n, k in self._aliases.items() if not n.endswith(_VALUE_SUFFIX))

    def _index_object_graph(self) -> None:
        from tensorflow.core.protobuf import trackable_object_graph_pb2

        graph = trackable_object_graph_pb2.TrackableObjectGraph()
        graph.ParseFromString(self._reader.get_tensor(_OBJECT_GRAPH_KEY))
        paths = {0: ''}
        order = [0]
        # Every path that reaches a node through its parents' first paths.
        edge_paths: dict[int, list[str]] = {}
        for node_id in order:
            for child in graph.nodes[node_id].children:
                base = paths[node_id]
                path = f'{base}/{child.local_name}' if base else child.local_name
                edge_paths.setdefault(child.node_id, []).append(path)
                if child.node_id not in paths:
                    paths[child.node_id] = path
                    order.append(child.node_id)
        self.root_children = [c.local_name for c in graph.nodes[0].children]
        for node_id, node in enumerate(graph.nodes):
            for attr in node.attributes:
                if attr.name != 'VARIABLE_VALUE' or attr.checkpoint_key not in self.shapes:
                    continue
                key = attr.checkpoint_key
                if attr.full_name:
                    self._aliases.setdefault(attr.full_name, key)
                for path in edge_paths.get(node_id, ()):
                    self._aliases.setdefault(path, key)
                if key.endswith(_VALUE_SUFFIX):
                    self._aliases.setdefault(key[: -len(_VALUE_SUFFIX)], key)
            for slot in node.slot_variables:
                var_node = slot.original_variable_node_id
                slot_node = graph.nodes[slot.slot_variable_node_id]
                for attr in slot_node.attributes:
                    if attr.name == 'VARIABLE_VALUE':
                        self.slot_keys.setdefault(str(var_node), {})[slot.slot_name] = (
                            attr.checkpoint_key
                        )
        # Resolve slot maps from node ids to every alias of the variable.
        by_node = {}
        for node_id, node in enumerate(graph.nodes):
            for attr in node.attributes:
                if attr.name == 'VARIABLE_VALUE':
                    by_node[str(node_id)] = attr.checkpoint_key
        self.slot_keys = {by_node[n]: slots for n, slots in self.slot_keys.items() if n in by_node}

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
            return self._reader.get_tensor(key)
        except (tf.errors.OpError, ValueError, RuntimeError, IndexError) as e:
            # A short data file raises IndexError ('Read less bytes than requested').
            raise _errors.CorruptCheckpointError(
                f'Reading tensor {key!r} from checkpoint {self.prefix!r} failed: '
                f'{_first_line(e)}. Expected an intact, fully written checkpoint; re-copy it '
                f'or choose another. Received: key={key!r}'
            ) from None

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
          start: First row; clipped to the tensor.
          stop: One past the last row; clipped to the tensor.

        Returns:
          The rows. Treat them as read-only: they may be shared with other callers.

        Raises:
          KeyError: The checkpoint has no tensor `key`.
          CorruptCheckpointError: The data file is missing or shorter than the index says.
        """
        shape = self.shapes.get(key)
        if not shape:
            return self.read(key)  # A scalar; or no such key, which `read` reports.
        n = shape[0]
        start = min(max(int(start), 0), n)
        stop = min(max(int(stop), start), n)
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
            return self._locations[key]

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
        """sha256 of the index file and the data files' sizes: cheap and stable."""
        h = hashlib.sha256()
        with tf.io.gfile.GFile(self.prefix + '.index', 'rb') as f:
            h.update(f.read())
        for path, _, _ in data_files(self.prefix):
            h.update(_split(path)[1].encode())
            h.update(str(tf.io.gfile.stat(path).length).encode())
        return h.hexdigest()


_DATA_FILE = re.compile(r'\.data-(\d{5})-of-(\d{5})')
# Tensors whose stored size is not their element count times a fixed width.
_VARIABLE_WIDTH = ('string', 'variant', 'resource')


def data_files(prefix: str) -> list[tuple[str, int, int]]:
    """`(path, shard, num_shards)` of each `.data-NNNNN-of-MMMMM` file of `prefix`."""
    directory, base = _split(prefix)
    out = []
    for name in tf.io.gfile.listdir(directory or '.'):
        m = _DATA_FILE.fullmatch(name[len(base) :]) if name.startswith(base) else None
        if m:
            path = _join(directory, name) if directory else name
            out.append((path, int(m.group(1)), int(m.group(2))))
    return sorted(out)


_FIX_DATA = (
    'Re-copy the checkpoint (was it partly copied, or is it still being written?) or '
    'choose another.'
)


def check_data_files(prefix: str, shapes: dict, dtypes: dict) -> None:
    """Checks, before any tensor is read, that the data files exist and are long enough.

    TensorFlow's reader reads the index when a checkpoint is opened and a data
    file only when a tensor is, so a truncated or missing data file would
    only show while applying. The index gives each tensor's shard, offset and
    size (`_bundle`); every shard must exist and reach its last tensor's end.
    If this reader cannot parse the index, a lower bound is checked instead:
    the data files must hold at least the fixed-width tensors' bytes.

    Args:
      prefix: The checkpoint prefix.
      shapes: Key -> shape, from TensorFlow's reader.
      dtypes: Key -> `tf.DType`, from TensorFlow's reader.

    Raises:
      CorruptCheckpointError: naming the file, its size and the size needed.
    """
    ends = _entry_ends(prefix)
    if ends is None:
        _check_total_size(prefix, shapes, dtypes)
        return
    num_shards, needed = ends
    for shard in sorted(needed):
        end, key = needed[shard]
        path = _bundle.data_path(prefix, shard, num_shards)
        if not tf.io.gfile.exists(path):
            raise _errors.CorruptCheckpointError(
                f'Data file {path!r} of checkpoint {prefix!r} does not exist; its index '
                f'lists tensors in it (e.g. {key!r}). {_FIX_DATA} Received: prefix={prefix!r}'
            )
        size = tf.io.gfile.stat(path).length
        if size < end:
            raise _errors.CorruptCheckpointError(
                f'Data file {path!r} of checkpoint {prefix!r} is truncated: it has {size} '
                f'bytes, but its index places tensor {key!r} up to byte {end}. {_FIX_DATA} '
                f'Received: prefix={prefix!r}'
            )


def _entry_ends(prefix: str) -> tuple[int, dict[int, tuple[int, str]]] | None:
    """(num_shards, shard -> (end of its last tensor, that key)); None if unparsable."""
    from google.protobuf import message
    from tensorflow.core.protobuf import tensor_bundle_pb2

    num_shards = 1
    ends: dict[int, tuple[int, str]] = {}
    try:
        with tf.io.gfile.GFile(prefix + '.index', 'rb') as f:
            data = f.read()
        for key, value in _bundle.table_entries(data):
            if not key:
                header = tensor_bundle_pb2.BundleHeaderProto.FromString(value)
                num_shards = max(1, header.num_shards)
                continue
            entry = tensor_bundle_pb2.BundleEntryProto.FromString(value)
            end = int(entry.offset) + int(entry.size)
            if end > ends.get(entry.shard_id, (0, ''))[0]:
                ends[entry.shard_id] = (end, key.decode('utf-8', 'replace'))
    except (_errors.Error, message.DecodeError, tf.errors.OpError, OSError):
        return None
    return num_shards, ends


def _check_total_size(prefix: str, shapes: dict, dtypes: dict) -> None:
    """The fallback of `check_data_files`: data files hold the fixed-width bytes."""
    files = data_files(prefix)
    need = 0
    for key, shape in shapes.items():
        dtype = dtypes[key]
        if dtype.name in _VARIABLE_WIDTH:
            continue
        try:
            n = dtype.size
        except (TypeError, ValueError):
            continue
        for d in shape:
            n *= d
        need += n
    if not files:
        if need:
            raise _errors.CorruptCheckpointError(
                f'Checkpoint {prefix!r} has an index but no data file: expected '
                f'{prefix}.data-00000-of-NNNNN beside it. {_FIX_DATA} Received: prefix={prefix!r}'
            )
        return
    expected = max(n for _, _, n in files)
    missing = sorted(set(range(expected)) - {s for _, s, _ in files})
    if missing:
        names = [_bundle.data_path(prefix, s, expected) for s in missing]
        raise _errors.CorruptCheckpointError(
            f'Checkpoint {prefix!r} lacks data file(s) {names}; expected {expected} shard(s). '
            f'{_FIX_DATA} Received: prefix={prefix!r}'
        )
    total = sum(tf.io.gfile.stat(path).length for path, _, _ in files)
    if total < need:
        raise _errors.CorruptCheckpointError(
            f'The data files of checkpoint {prefix!r} hold {total} bytes, fewer than the {need} '
            f'bytes of tensors its index lists: they are truncated. {_FIX_DATA} '
            f'Received: prefix={prefix!r}'
        )


def _first_line(e: BaseException) -> str:
    text = getattr(e, 'message', None) or str(e)
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__
