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
import threading

import numpy as np
import tensorflow as tf

from warm_start_hooks import _errors

_OBJECT_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH'
_VALUE_SUFFIX = '/.ATTRIBUTES/VARIABLE_VALUE'


def resolve_prefix(path: str | os.PathLike) -> str:
    """Returns the checkpoint prefix that `path` names.

    Args:
      path: A prefix, a directory with a `checkpoint` file, a SavedModel
        directory, or an `.index` / `.data-*` file of a checkpoint.

    Returns:
      The prefix (the path without `.index`).

    Raises:
      CheckpointNotFoundError: with what was looked for and how to fix it.
    """
    path = os.fspath(path)
    gfile = tf.io.gfile
    if gfile.isdir(path):
        if gfile.exists(os.path.join(path, 'checkpoint')):
            prefix = tf.train.latest_checkpoint(path)
            if prefix is None or not gfile.exists(prefix + '.index'):
                state = tf.train.get_checkpoint_state(path)
                named = state.model_checkpoint_path if state else '<unreadable>'
                raise _errors.CheckpointNotFoundError(
                    f"The 'checkpoint' file in {path!r} points to {named!r}, whose files do "
                    'not exist (deleted, or written elsewhere). Expected its .index and '
                    '.data files beside it. Pass an existing prefix, or fix the checkpoint '
                    f'file. Received: ckpt_to_initialize_from={path!r}'
                )
            return prefix
        saved_model_vars = os.path.join(path, 'variables', 'variables')
        if gfile.exists(saved_model_vars + '.index'):
            return saved_model_vars
        raise _errors.CheckpointNotFoundError(
            f"The directory {path!r} holds no checkpoint: no 'checkpoint' file and no "
            "SavedModel 'variables/variables.index'. Expected a model directory, a "
            'SavedModel or a checkpoint prefix such as model.ckpt-100. '
            f'Received: ckpt_to_initialize_from={path!r}'
        )
    for suffix in ('.index', '.meta'):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    if '.data-' in os.path.basename(path):
        path = path[: path.rindex('.data-')]
    if gfile.exists(path + '.index'):
        return path
    parent = os.path.dirname(path) or '.'
    tip = ''
    if gfile.isdir(parent):
        near = sorted(
            os.path.join(parent, f[: -len('.index')])
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


class CheckpointSource:
    """One checkpoint, resolved and opened once; tensors read from one reader.

    Example:
      >>> src = CheckpointSource('/tmp/model_dir')
      >>> src.key_for('dense/kernel')
      'dense/kernel'
    """

    def __init__(self, path: str | os.PathLike):
        self.requested = os.fspath(path)
        self.prefix = resolve_prefix(path)
        try:
            self._reader = tf.train.load_checkpoint(self.prefix)
            self.shapes = {
                k: tuple(v) for k, v in self._reader.get_variable_to_shape_map().items()
            }
            self.dtypes = {
                k: tf.as_dtype(v) for k, v in self._reader.get_variable_to_dtype_map().items()
            }
        except (tf.errors.OpError, ValueError, RuntimeError) as e:
            raise _errors.CorruptCheckpointError(
                f'Checkpoint {self.prefix!r} cannot be read: {_first_line(e)}. Expected an '
                'intact .index and .data files (truncated or partly copied?). Re-copy or '
                f'choose another checkpoint. Received: ckpt_to_initialize_from={self.requested!r}'
            ) from None
        self.object_based = _OBJECT_GRAPH_KEY in self.shapes
        self._aliases: dict[str, str] = {}
        self.slot_keys: dict[str, dict[str, str]] = {}
        if self.object_based:
            self._index_object_graph()
        self._lock = threading.Lock()
        self._cache: dict[str, np.ndarray] = {}

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
        for node_id in order:
            for child in graph.nodes[node_id].children:
                if child.node_id not in paths:
                    base = paths[node_id]
                    paths[child.node_id] = f'{base}/{child.local_name}' if base else child.local_name
                    order.append(child.node_id)
        for node_id, node in enumerate(graph.nodes):
            for attr in node.attributes:
                if attr.name != 'VARIABLE_VALUE' or attr.checkpoint_key not in self.shapes:
                    continue
                key = attr.checkpoint_key
                if attr.full_name:
                    self._aliases.setdefault(attr.full_name, key)
                if node_id in paths:
                    self._aliases.setdefault(paths[node_id], key)
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
        self.slot_keys = {
            by_node[n]: slots for n, slots in self.slot_keys.items() if n in by_node
        }

    # ---- data ----------------------------------------------------------
    def read(self, key: str) -> np.ndarray:
        """The whole tensor `key` as a numpy array."""
        try:
            return self._reader.get_tensor(key)
        except (tf.errors.OpError, ValueError, RuntimeError) as e:
            raise _errors.CorruptCheckpointError(
                f'Reading tensor {key!r} from checkpoint {self.prefix!r} failed: '
                f'{_first_line(e)}. Expected an intact, fully written checkpoint; re-copy it '
                f'or choose another. Received: key={key!r}'
            ) from None

    def read_rows(self, key: str, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of a tensor; the whole tensor is kept while in use."""
        with self._lock:
            full = self._cache.get(key)
            if full is None:
                full = self._cache[key] = self.read(key)
        return full[start:stop]

    def release(self, key: str) -> None:
        """Drops what `read_rows` kept of `key`."""
        with self._lock:
            self._cache.pop(key, None)

    def fingerprint(self) -> str:
        """sha256 of the index file and the data files' sizes: cheap and stable."""
        h = hashlib.sha256()
        with tf.io.gfile.GFile(self.prefix + '.index', 'rb') as f:
            h.update(f.read())
        directory, base = os.path.split(self.prefix)
        for name in sorted(tf.io.gfile.listdir(directory or '.')):
            if name.startswith(base + '.data-'):
                h.update(name.encode())
                h.update(str(tf.io.gfile.stat(os.path.join(directory, name)).length).encode())
        return h.hexdigest()


def _first_line(e: BaseException) -> str:
    text = getattr(e, 'message', None) or str(e)
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__
