"""The sorted-table file format of a checkpoint's `.index`, read without TensorFlow.

Do not import this module directly; use `import warm_start_hooks` instead.

A checkpoint's index is a LevelDB-style sorted table of (key, value) pairs,
in the format of TensorFlow's `tensorflow/core/lib/io/format.h` and `block.cc`:

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

Only uncompressed tables are read; anything else is a `BundleFormatError`.
"""

from __future__ import annotations

from collections.abc import Iterator

from warm_start_hooks import _errors

_MAGIC = 0xDB4775248B80FB57
_FOOTER_BYTES = 48
_TRAILER_BYTES = 5
_NO_COMPRESSION = 0


class BundleFormatError(_errors.CorruptCheckpointError):
    """Raised when an index file is not a tensor-bundle table this reader knows."""


def _varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
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


def block_entries(block: memoryview) -> Iterator[tuple[bytes, bytes]]:
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


def table_entries(data: bytes | memoryview) -> Iterator[tuple[bytes, bytes]]:
    """Yields every (key, value) of a LevelDB-style table file, in key order.

    Args:
      data: The whole table file.

    Yields:
      `(key, value)` pairs as `bytes`.

    Raises:
      BundleFormatError: The file is not such a table, or is compressed.
    """
    view = memoryview(data)
    for offset, size in block_handles(view):
        yield from block_entries(_block(view, offset, size))


def block_handles(data: bytes | memoryview) -> list[tuple[int, int]]:
    """(offset, size) of each data block of a table file, in key order.

    Raises:
      BundleFormatError: The file is not such a table.
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
    out = []
    for _, handle in block_entries(_block(view, index_offset, index_size)):
        offset, p = _varint(handle, 0)
        size, _ = _varint(handle, p)
        out.append((offset, size))
    return out
