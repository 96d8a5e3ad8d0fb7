"""Where each tensor lies in a checkpoint's files, and reading rows of it.

Do not import this module directly; use `import warm_start_hooks` instead.

A TensorFlow checkpoint (a "tensor bundle") is a `<prefix>.index` file and
one or more `<prefix>.data-0000k-of-0000N` files. The index is a LevelDB-style
sorted table; for every tensor key it holds a `BundleEntryProto` naming the
data shard, the byte offset and the byte size of the tensor's values, stored
row-major. Knowing that, rows `[start, stop)` of a numeric tensor are one
contiguous byte range, which is read alone instead of the whole tensor.

The table format is read by `_table`: in its data blocks, the empty key
holds the `BundleHeaderProto` (`num_shards`, `endianness`); every other key
a `BundleEntryProto`.

Only what this reader is sure of is read here: numeric, unsliced tensors of a
little-endian bundle on a little-endian machine, with an uncompressed index.
For anything else `TensorLocation` is not given and callers use TensorFlow's
own reader. A tensor's CRC32C covers all of it, so rows read alone are not
checked against it (TensorFlow checks it on whole-tensor reads); a data file
shorter than the index says is reported.
"""

from __future__ import annotations

import dataclasses
import os
import sys

import numpy as np
import tensorflow as tf

from warm_start_hooks import _errors
from warm_start_hooks import _memory
from warm_start_hooks import _table

_HEADER_KEY = b''

# DataType enum values (types.proto) whose values are stored as raw fixed-size
# elements, and the numpy type of one element.
_RAW_DTYPES = frozenset(
    tf.as_dtype(d).as_datatype_enum
    for d in (
        tf.float16,
        tf.bfloat16,
        tf.float32,
        tf.float64,
        tf.complex64,
        tf.complex128,
        tf.int8,
        tf.int16,
        tf.int32,
        tf.int64,
        tf.uint8,
        tf.uint16,
        tf.uint32,
        tf.uint64,
        tf.bool,
    )
)


# Raised when an index file is not a tensor-bundle table this reader knows.
BundleFormatError = _table.BundleFormatError


@dataclasses.dataclass(frozen=True)
class TensorLocation:
    """Where one tensor's values are stored.

    Attributes:
      key: The tensor's key.
      path: The data file (shard) holding it.
      offset: Byte offset of its first value in `path`.
      nbytes: Byte size of all its values.
      dtype: numpy dtype of one value, little-endian.
      shape: The tensor's shape.
    """

    key: str
    path: str
    offset: int
    nbytes: int
    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def row_bytes(self) -> int:
        """Bytes of one row (one element for a 1-D tensor)."""
        n = self.dtype.itemsize
        for d in self.shape[1:]:
            n *= d
        return n


def data_path(prefix: str, shard: int, num_shards: int) -> str:
    """The data file of one shard: `<prefix>.data-0000k-of-0000N`."""
    return f'{prefix}.data-{shard:05d}-of-{num_shards:05d}'


class BundleIndex:
    """The parsed `.index` of one checkpoint: each tensor's location.

    Example:
      >>> index = BundleIndex.open('/tmp/model/model.ckpt-100')
      >>> index.read_rows('embedding', 10, 20).shape
      (10, 64)
    """

    def __init__(self, prefix: str, entries: dict, num_shards: int, little_endian: bool):
        self.prefix = prefix
        self.num_shards = num_shards
        self.little_endian = little_endian
        self._entries = entries

    @classmethod
    def open(cls, prefix: str) -> BundleIndex:
        """Reads and parses `<prefix>.index`.

        Args:
          prefix: The checkpoint prefix.

        Returns:
          The index.

        Raises:
          BundleFormatError: The index is not a table this reader knows.
        """
        from google.protobuf import message
        from tensorflow.core.protobuf import tensor_bundle_pb2

        path = prefix + '.index'
        with tf.io.gfile.GFile(path, 'rb') as f:
            data = f.read()
        header = None
        entries = {}
        try:
            for key, value in _table.table_entries(data):
                if key == _HEADER_KEY:
                    header = tensor_bundle_pb2.BundleHeaderProto.FromString(value)
                else:
                    entries[key.decode('utf-8', 'surrogateescape')] = value
            if header is None:
                raise BundleFormatError('it has no bundle header (the empty key)')
        except (BundleFormatError, message.DecodeError) as e:
            raise BundleFormatError(
                f'Checkpoint index {path!r} is not a tensor-bundle table this reader knows: '
                f"{e}. Expected an uncompressed table as TensorFlow writes it; TensorFlow's "
                f'own reader can still read the whole tensors. Received: path={path!r}'
            ) from None
        little = header.endianness == tensor_bundle_pb2.BundleHeaderProto.LITTLE
        return cls(prefix, entries, max(1, header.num_shards), little)

    @property
    def keys(self) -> list[str]:
        """Every tensor key in the index, sorted."""
        return sorted(self._entries)

    def location(self, key: str) -> TensorLocation | None:
        """Where `key`'s values lie, or None when this reader cannot read its rows.

        None for unknown keys, strings and other non-numeric dtypes, tensors
        saved in slices (partitioned variables saved whole), scalars, and
        big-endian bundles or machines.
        """
        from google.protobuf import message
        from tensorflow.core.protobuf import tensor_bundle_pb2

        raw = self._entries.get(key)
        if raw is None or not self.little_endian or sys.byteorder != 'little':
            return None
        try:
            entry = tensor_bundle_pb2.BundleEntryProto.FromString(raw)
        except message.DecodeError:
            return None  # TensorFlow's reader reports it when the tensor is read whole.
        if entry.slices or entry.dtype not in _RAW_DTYPES:
            return None
        shape = tuple(int(d.size) for d in entry.shape.dim)
        if not shape or any(d < 0 for d in shape):
            return None
        dtype = np.dtype(tf.as_dtype(entry.dtype).as_numpy_dtype).newbyteorder('<')
        nbytes = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
        if nbytes != entry.size:
            return None
        return TensorLocation(
            key=key,
            path=data_path(self.prefix, entry.shard_id, self.num_shards),
            offset=int(entry.offset),
            nbytes=nbytes,
            dtype=dtype,
            shape=shape,
        )

    def read_rows(self, key: str, start: int, stop: int) -> np.ndarray | None:
        """Rows `[start, stop)` of tensor `key`, reading only their bytes.

        Args:
          key: The tensor key.
          start: First row, at least 0.
          stop: One past the last row, at most the tensor's rows.

        Returns:
          A new, writable array of shape `[stop - start, ...]`, or None when
          `location(key)` is None (use TensorFlow's reader then).

        Raises:
          IndexError: `[start, stop)` is not a range of the tensor's rows.
          CorruptCheckpointError: The data file is shorter than the index says.
        """
        loc = self.location(key)
        if loc is None:
            return None
        return read_location_rows(loc, start, stop)


def read_location_rows(loc: TensorLocation, start: int, stop: int) -> np.ndarray:
    """Rows `[start, stop)` of the tensor at `loc` (see `BundleIndex.read_rows`)."""
    n = loc.shape[0]
    start, stop = int(start), int(stop)
    if not 0 <= start <= stop <= n:  # Never clipped: that would repeat or drop rows.
        raise IndexError(f'Rows {start}..{stop} of tensor {loc.key!r} asked for; 0..{n} exist.')
    out = _memory.empty_aligned((stop - start,) + loc.shape[1:], loc.dtype)
    if out.nbytes:
        _read_into(loc.path, loc.offset + start * loc.row_bytes, out)
    return out


def _is_local(path: str) -> bool:
    return '://' not in path or path.startswith('file://')


def _read_into(path: str, offset: int, out: np.ndarray) -> None:
    """Fills `out` with the bytes at `offset` of `path`."""
    buf = out.reshape(-1).view(np.uint8).data
    want = len(buf)
    got = 0
    if _is_local(path):
        local = path[len('file://') :] if path.startswith('file://') else path
        with open(local, 'rb', buffering=0) as f:
            if hasattr(os, 'preadv'):
                # Positional reads: no shared file position, safe across threads.
                while got < want:
                    n = os.preadv(f.fileno(), [buf[got:]], offset + got)
                    if n <= 0:
                        break
                    got += n
            else:
                f.seek(offset)
                while got < want:
                    n = f.readinto(buf[got:])
                    if not n:
                        break
                    got += n
    else:
        with tf.io.gfile.GFile(path, 'rb') as f:
            f.seek(offset)
            while got < want:
                chunk = f.read(min(want - got, 64 << 20))
                if not chunk:
                    break
                buf[got : got + len(chunk)] = chunk
                got += len(chunk)
    if got < want:
        raise _errors.CorruptCheckpointError(
            f'Data file {path!r} ended after {offset + got} bytes, but the checkpoint index '
            f'says bytes {offset}..{offset + want} hold values. Expected a fully written '
            f'checkpoint (truncated or partly copied?); re-copy it or choose another. '
            f'Received: path={path!r}'
        )
