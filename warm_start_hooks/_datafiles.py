"""The files of a checkpoint: data files checked against the index, and a fingerprint.

Do not import this module directly; use `import warm_start_hooks` instead.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from collections.abc import Sequence

import tensorflow as tf

from warm_start_hooks import _bundle
from warm_start_hooks import _errors
from warm_start_hooks import _table


def join(directory: str, name: str) -> str:
    """`os.path.join` for local paths; '/' for URLs (gs://, s3://, hdfs://, ram://)."""
    if '://' in directory:
        return directory + name if directory.endswith('/') else f'{directory}/{name}'
    return os.path.join(directory, name)


def split(path: str) -> tuple[str, str]:
    """`os.path.split` that keeps a URL's 'scheme://' (`ram://x` -> `('ram://', 'x')`)."""
    if '://' in path:
        scheme, rest = path.split('://', 1)
        head, _, tail = rest.rpartition('/')
        return f'{scheme}://{head}', tail
    return os.path.split(path)


_DATA_FILE = re.compile(r'\.data-(\d{5})-of-(\d{5})')
# Tensors whose stored size is not their element count times a fixed width.
_VARIABLE_WIDTH = ('string', 'variant', 'resource')


def data_files(prefix: str) -> list[tuple[str, int, int]]:
    """`(path, shard, num_shards)` of each `.data-NNNNN-of-MMMMM` file of `prefix`."""
    directory, base = split(prefix)
    out = []
    for name in tf.io.gfile.listdir(directory or '.'):
        m = _DATA_FILE.fullmatch(name[len(base) :]) if name.startswith(base) else None
        if m:
            path = join(directory, name) if directory else name
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
        for key, value in _table.table_entries(data):
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


def file_state(prefix: str) -> tuple[str, tuple[tuple[str, int], ...]]:
    """(sha256 of the index file, (name, size) of each data file): cheap to take.

    A checkpoint rewritten at the same prefix has another index (each tensor's
    offset, size and checksum are in it), so this changes with any new value
    without reading the data files. The data files are those the index's
    header names; the directory is listed only when the header cannot be read.
    """
    with tf.io.gfile.GFile(prefix + '.index', 'rb') as f:
        data = f.read()
    num_shards = _num_shards(data)
    if num_shards is None:
        paths = [path for path, _, _ in data_files(prefix)]
    else:
        paths = [_bundle.data_path(prefix, s, num_shards) for s in range(num_shards)]
    sizes = tuple((split(path)[1], int(tf.io.gfile.stat(path).length)) for path in paths)
    return hashlib.sha256(data).hexdigest(), sizes


def _num_shards(index: bytes) -> int | None:
    """The data file count an index's header gives, or None if it cannot be read."""
    from google.protobuf import message
    from tensorflow.core.protobuf import tensor_bundle_pb2

    try:
        key, value = next(iter(_table.table_entries(index)))
        if key:
            return None
        return max(1, tensor_bundle_pb2.BundleHeaderProto.FromString(value).num_shards)
    except (_errors.Error, message.DecodeError, StopIteration, ValueError, IndexError):
        return None


def fingerprint(state: tuple[str, tuple[tuple[str, int], ...]]) -> str:
    """sha256 of a `file_state`: the index and the data files' names and sizes."""
    h = hashlib.sha256(state[0].encode())
    for name, size in state[1]:
        h.update(name.encode())
        h.update(str(size).encode())
    return h.hexdigest()


def describe_change(prefix: str, before: tuple, shapes: dict, dtypes: dict) -> str:
    """What differs between the files planned against (`before`, `shapes`, `dtypes`) and now."""
    try:
        now = file_state(prefix)
    except (OSError, tf.errors.OpError) as e:
        return f'it cannot be read any more ({_errors.first_line(e)})'
    if now[0] == before[0]:
        sizes = [
            f'{name} was {dict(before[1]).get(name, "missing")} bytes, now {size}'
            for name, size in now[1]
            if dict(before[1]).get(name) != size
        ]
        gone = [name for name, _ in before[1] if name not in dict(now[1])]
        return 'data file ' + '; '.join(sizes + [f'{n} is gone' for n in gone])
    try:
        reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        now_shapes = {k: tuple(v) for k, v in reader.get_variable_to_shape_map().items()}
        now_dtypes = {k: tf.as_dtype(v) for k, v in reader.get_variable_to_dtype_map().items()}
    except (tf.errors.OpError, ValueError, RuntimeError, IndexError) as e:
        return f'it cannot be read any more ({_errors.first_line(e)})'
    return _tensor_changes(shapes, dtypes, now_shapes, now_dtypes)


def _tensor_changes(
    shapes: Mapping[str, Sequence[int]],
    dtypes: Mapping[str, tf.DType],
    now_shapes: Mapping[str, Sequence[int]],
    now_dtypes: Mapping[str, tf.DType],
) -> str:
    changes = [f'{k!r} is gone' for k in sorted(set(shapes) - set(now_shapes))]
    changes += [f'{k!r} is new' for k in sorted(set(now_shapes) - set(shapes))]
    for k in sorted(set(shapes) & set(now_shapes)):
        if shapes[k] != now_shapes[k]:
            changes.append(f'{k!r} was {list(shapes[k])}, now {list(now_shapes[k])}')
        elif dtypes[k] != now_dtypes[k]:
            changes.append(f'{k!r} was {dtypes[k].name}, now {now_dtypes[k].name}')
    if not changes:
        return 'it was rewritten: the same tensors and shapes, with other values'
    more = f' (+{len(changes) - 5} more)' if len(changes) > 5 else ''
    return 'tensor ' + '; '.join(changes[:5]) + more
