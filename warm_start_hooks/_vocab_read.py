"""Reading vocabularies into one byte buffer: files as TensorFlow reads them, and sequences.

Do not import this module directly; use `import warm_start_hooks` instead.

A file is split into lines as TensorFlow's vocabulary ops split it: a token
is a whole line of bytes, without its line end (`\\n`, or `\\r\\n`: one `\\r`
before the `\\n`, or at the very end, is dropped). The split is one numpy pass
over the bytes. Text must be UTF-8, so that every token can be shown.
"""

from __future__ import annotations

import codecs
import dataclasses
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from warm_start_hooks import _errors
from warm_start_hooks import _tokens


@dataclasses.dataclass(frozen=True, eq=False)
class Read:
    """A vocabulary as read.

    Attributes:
      source: The path, or '<list>' for an in-memory sequence.
      table: The tokens, in line order.
      crlf: Whether lines ended in '\\r\\n'.
      from_file: Whether it was read from a file.
    """

    source: str
    table: _tokens.Tokens
    crlf: bool
    from_file: bool


def read_file(path: str) -> Read:
    """Reads the vocabulary file at `path` (any `tf.io.gfile` path).

    Raises:
      VocabError: The file is missing, unreadable, or not UTF-8.
    """
    import tensorflow as tf

    try:
        data = _read_bytes(path)
    except tf.errors.NotFoundError:
        raise _errors.VocabError(
            f'Vocabulary file not found. Expected a file with one token a line; check the '
            f'path. Received: path={path!r}'
        ) from None
    except tf.errors.OpError as e:
        raise _errors.VocabError(
            f'Vocabulary file could not be read ({_errors.first_line(e)}). Expected a file '
            f'with one token a line. Received: path={path!r}'
        ) from None
    size = len(data) - _tokens.PAD
    buf = data[:size]
    ends = np.flatnonzero(buf == 10)
    if size and buf[-1] != 10:
        ends = np.append(ends, size)  # A last line without its line end.
    starts = _starts(ends)
    # One '\r' before a line end is not part of the token. Temporaries are reused: at
    # millions of lines, each new array costs more in page faults than in arithmetic.
    last = np.subtract(ends, 1)
    np.maximum(last, 0, out=last)
    cr = buf[last] == 13
    cr &= ends > starts
    ends -= cr
    lengths = np.subtract(ends, starts, out=last)
    _check_utf8(buf, lambda b: f'line {int(np.searchsorted(starts, b, "right"))}', path)
    return Read(path, _tokens.Tokens(data, starts, lengths), bool(cr.any()), True)


def _read_bytes(path: str) -> np.ndarray:
    """The file's bytes followed by `_tokens.PAD` zero bytes, read once into numpy."""
    import tensorflow as tf

    if '://' not in path and os.path.isfile(path):
        # A local file is read straight into the buffer: no intermediate copy.
        with open(path, 'rb', buffering=0) as f:
            size = os.fstat(f.fileno()).st_size
            data = np.zeros(size + _tokens.PAD, np.uint8)
            view, got = data.data[:size], 0
            while got < size:
                n = f.readinto(view[got:])
                if not n:
                    break
                got += n
        return data[: got + _tokens.PAD]
    with tf.io.gfile.GFile(path, 'rb') as f:
        raw = f.read()
    data = np.zeros(len(raw) + _tokens.PAD, np.uint8)
    data[: len(raw)] = np.frombuffer(raw, np.uint8)
    return data


def _starts(ends: np.ndarray) -> np.ndarray:
    """Where each token starts, when one separator byte follows each token."""
    starts = np.empty(len(ends), np.int64)
    starts[:1] = 0
    np.add(ends[:-1], 1, out=starts[1:])
    return starts


def _check_utf8(data: bytes | np.ndarray, where: Callable[[int], str], source: str) -> None:
    buf = np.frombuffer(data, np.uint8) if isinstance(data, bytes) else data
    if not len(buf) or buf.max() < 0x80:
        return  # ASCII.
    try:
        codecs.utf_8_decode(buf.data, 'strict', True)
    except UnicodeDecodeError as e:
        what = 'file' if source != '<list>' else 'sequence'
        raise _errors.VocabError(
            f'Vocabulary {what} is not UTF-8 ({e.reason} at byte {e.start}, {where(e.start)}). '
            'Re-encode it as UTF-8, e.g. `iconv -f latin1 -t utf-8`, or pass text. Received: '
            f'{"path" if what == "file" else "vocab"}={source!r}'
        ) from None


def read_sequence(seq: Any) -> Read:
    """Reads an in-memory vocabulary: a sequence (or 1-D numpy array) of tokens.

    Tokens are `str`, UTF-8 `bytes` (decoded as TensorFlow decodes string
    tensors), or ints (an `IntegerLookup` vocabulary), written in decimal as a
    vocabulary file holds them. One sequence holds one kind.

    Raises:
      VocabError: Something other than tokens, mixed kinds, or bytes that are
        not UTF-8.
    """
    items = _items(seq)
    kind = _kind(items)
    if kind == 'bytes':
        data = b'\n'.join(items)
    else:
        text = '\n'.join(items if kind == 'str' else map(str, items))
        try:
            data = text.encode('utf-8')
        except UnicodeEncodeError as e:
            raise _errors.VocabError(
                f'A vocabulary token cannot be written as UTF-8 ({e.reason}). Expected text. '
                f'Received: token={text[max(0, e.start - 20) : e.end + 20]!r}'
            ) from None
    seps = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    if len(seps) == max(0, len(items) - 1):
        ends = np.append(seps, len(data)) if items else seps
    else:  # Some tokens hold a '\n': their own lengths say where each ends.
        enc = items if kind == 'bytes' else [str(t).encode('utf-8') for t in items]
        ends = np.cumsum(np.fromiter(map(len, enc), np.int64, len(enc)) + 1) - 1
    starts = _starts(ends)
    _check_utf8(data, lambda b: f'item {int(np.searchsorted(starts, b, "right")) - 1}', '<list>')
    return Read('<list>', _tokens.from_bytes(data, starts, ends - starts), False, False)


def _items(seq: Any) -> list:
    if isinstance(seq, np.ndarray):
        if seq.ndim != 1 or seq.dtype.kind not in 'USOiu':
            raise _errors.VocabError(
                'A vocabulary array must be 1-D and hold str, bytes or ints. Convert it, e.g. '
                f'with .astype(str). Received: dtype={seq.dtype}, shape={seq.shape}'
            )
        return seq.tolist()
    try:
        return list(seq)
    except TypeError:
        raise _errors.VocabError(
            f'A vocabulary must be a file path or a sequence of tokens. Received: vocab={seq!r}'
        ) from None


def _kind_of(t: type) -> str | None:
    if issubclass(t, str):
        return 'str'
    if issubclass(t, bytes):
        return 'bytes'
    if issubclass(t, (int, np.integer)) and not issubclass(t, (bool, np.bool_)):
        return 'int'
    return None


def _kind(items: list) -> str:
    """'str', 'bytes' or 'int': what every item is.

    Raises:
      VocabError: An item is none of those, or items are of two kinds.
    """
    kinds = {t: _kind_of(t) for t in set(map(type, items))}
    if len(set(kinds.values())) <= 1 and None not in kinds.values():
        return next((k for k in kinds.values() if k is not None), 'str')
    expected = _kind_of(type(items[0]))
    i = 0
    if expected is not None:
        i = next(i for i, t in enumerate(items) if kinds[type(t)] != expected)
    bad = items[i]
    after = f' after {type(items[0]).__name__} items' if expected and i else ''
    raise _errors.VocabError(
        'A vocabulary sequence must hold tokens of one kind: str, UTF-8 bytes, or ints (an '
        f'IntegerLookup vocabulary). Item {i} is {type(bad).__name__}{after}. Convert the '
        f'tokens, e.g. [str(t) for t in vocab]. Received: vocab[{i}]={bad!r}'
    )
