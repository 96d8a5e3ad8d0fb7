"""Where each tensor lies in a checkpoint's files, and reading rows of it.

Do not import this module directly; use `import warm_start_hooks` instead.

A TensorFlow checkpoint (a "tensor bundle") is a `<prefix>.index` file and
one or more `<prefix>.data-0000k-of-0000N` files. The index is a LevelDB-style
sorted table; for every tensor key it holds a `BundleEntryProto` naming the
data shard, the byte offset and the byte size of the tensor's values, stored
row-major. Knowing that, rows `[start, stop)` of a numeric tensor are one
contiguous byte range, which is read alone instead of the whole tensor.

The table format (TensorFlow's `tensorflow/core/lib/io/format.h`, `block.cc`):

* The file ends with a 48-byte footer: two block handles (metaindex, index;
  each two varint64s, offset then size), zero padding, and the 8-byte magic
  number `0xdb4775248b80fb57` (little-endian).
* A block is followed by a 5-byte trailer (compression type, masked CRC32C).
  Its entries are `shared, non_shared, value_length` varint32s, the key's
  unshared suffix and the value; keys are prefix-compressed against the
  previous key. A block ends with its restart offsets (fixed32 each) and
  their count (fixed32).
* The index block maps a separator key to each data block's handle.
* In the data blocks, the empty key holds the `BundleHeaderProto`
  (`num_shards`, `endianness`); every other key a `BundleEntryProto`.

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

_MAGIC = 0xDB4775248B80FB57
_FOOTER_BYTES = 48
_TRAILER_BYTES = 5
_NO_COMPRESSION = 0
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


class BundleFormatError(_errors.CorruptCheckpointError):
    """Raised when an index file is not a tensor-bundle table this reader knows."""


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


def _varint(buf, pos: int) -> tuple[int, int]:
    """Decodes a little-endian base-128 varint at `pos`; returns (value, next pos)."""
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise BundleFormatError('varint runs past the end of its block')
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise BundleFormatError('varint is longer than 10 bytes')


def _block(data: memoryview, offset: int, size: int) -> memoryview:
    """The contents of the block at (offset, size), without its trailer."""
    if offset + size + _TRAILER_BYTES > len(data):
        raise BundleFormatError(
            f'block at offset {offset} of size {size} runs past the end of the index '
            f'({len(data)} bytes)'
        )
    if data[offset + size] != _NO_COMPRESSION:
        raise BundleFormatError(f'block at offset {offset} is compressed')
    return data[offset : offset + size]


def block_entries(block: memoryview):
    """Yields the (key, value) pairs of one table block, in order.

    Args:
      block: The block's bytes, without the 5-byte trailer.

    Yields:
      `(key, value)` as `bytes`, keys expanded from their shared prefixes.

    Raises:
      BundleFormatError: The block is malformed.
    """
    if len(block) < 4:
        raise BundleFormatError('block is shorter than its restart count')
    num_restarts = int.from_bytes(block[-4:], 'little')
    limit = len(block) - 4 * (1 + num_restarts)
    if limit < 0:
        raise BundleFormatError(f'block holds {num_restarts} restarts, more than fit')
    key = b''
    pos = 0
    while pos < limit:
        shared, pos = _varint(block, pos)
        non_shared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        end = pos + non_shared + value_len
        if shared > len(key) or end > limit:
            raise BundleFormatError(f'block entry at byte {pos} is corrupt')
        key = key[:shared] + bytes(block[pos : pos + non_shared])
        yield key, bytes(block[pos + non_shared : end])
        pos = end


def table_entries(data: bytes):
    """Yields every (key, value) of a LevelDB-style table file, in key order.

    Args:
      data: The whole table file.

    Yields:
      `(key, value)` pairs as `bytes`.

    Raises:
      BundleFormatError: The file is not such a table, or is compressed.
    """
    view = memoryview(data)
    if len(view) < _FOOTER_BYTES:
        raise BundleFormatError(f'file of {len(view)} bytes is shorter than a table footer')
    footer = view[-_FOOTER_BYTES:]
    if int.from_bytes(footer[-8:], 'little') != _MAGIC:
        raise BundleFormatError('the footer lacks the table magic number')
    pos = 0
    _, pos = _varint(footer, pos)  # Metaindex offset: bundles keep no meta blocks.
    _, pos = _varint(footer, pos)
    index_offset, pos = _varint(footer, pos)
    index_size, pos = _varint(footer, pos)
    for _, handle in block_entries(_block(view, index_offset, index_size)):
        offset, p = _varint(handle, 0)
        size, _ = _varint(handle, p)
        yield from block_entries(_block(view, offset, size))


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
            for key, value in table_entries(data):
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


# TensorFlow adopts a numpy buffer aligned to this many bytes without copying it
# (`numpy_function` results, `tf.convert_to_tensor`); others are copied.
ALIGNMENT = 64


def empty_aligned(shape, dtype, zeros: bool = False) -> np.ndarray:
    """A new array whose data starts on an `ALIGNMENT`-byte boundary.

    Large numpy arrays start 16 bytes into a page, so TensorFlow copies them
    when they become tensors: for a numpy_function result that assigns a
    variable, an aligned buffer saves a whole copy of the variable, in time
    and in peak memory.

    Args:
      shape: The array's shape.
      dtype: The array's dtype.
      zeros: Whether to zero it (lazily, as `np.zeros` does).

    Returns:
      A C-contiguous, writable array.
    """
    dtype = np.dtype(dtype)
    shape = (int(shape),) if np.isscalar(shape) else tuple(int(d) for d in shape)
    nbytes = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    raw = (np.zeros if zeros else np.empty)(nbytes + ALIGNMENT, np.uint8)
    skip = -raw.ctypes.data % ALIGNMENT
    return raw[skip : skip + nbytes].view(dtype).reshape(shape)


def return_free_memory() -> None:
    """Hands memory the process freed back to the system (glibc's `malloc_trim`).

    glibc keeps freed blocks of up to 32 MiB for the process, so the large
    temporaries of planning (a vocabulary's tokens, hashes and matches) stay
    resident, and a variable's new values would be added on top of them. Called
    before those values are built. Elsewhere than glibc this does nothing.
    """
    try:
        import ctypes

        trim = getattr(ctypes.CDLL(None), 'malloc_trim', None)
        if trim is not None:
            trim(0)
    except (OSError, AttributeError, TypeError):
        pass


def read_location_rows(loc: TensorLocation, start: int, stop: int) -> np.ndarray:
    """Rows `[start, stop)` of the tensor at `loc` (see `BundleIndex.read_rows`)."""
    n = loc.shape[0]
    start, stop = int(start), int(stop)
    if not 0 <= start <= stop <= n:  # Never clipped: that would repeat or drop rows.
        raise IndexError(f'Rows {start}..{stop} of tensor {loc.key!r} asked for; 0..{n} exist.')
    out = empty_aligned((stop - start,) + loc.shape[1:], loc.dtype)
    if out.nbytes:
        _read_into(loc.path, loc.offset + start * loc.row_bytes, out)
    return out


def _is_local(path: str) -> bool:
    return '://' not in path or path.startswith('file://')


def _read_into(path: str, offset: int, out: np.ndarray) -> None:
    """Fills `out` with the bytes at `offset` of `path`."""
    buf = memoryview(out.reshape(-1).view(np.uint8))
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
