"""Keras lookup layers and tokenizers as vocabularies.

Do not import this module directly; use `import warm_start_hooks` instead.

Keras' `StringLookup`, `IntegerLookup` and `TextVectorization` put their
special rows first (see `_lookup_rows`); an Estimator `embedding_column`
puts its OOV buckets after the vocabulary. `VocabInfo` maps rows by token,
so `from_lookup` writes each special row as a reserved token that no real
vocabulary holds: the mask row then maps to the old mask row and OOV row i
to old OOV row i by the same token matching as every other row, wherever
each layout puts them.

KerasHub tokenizers (and anything with `get_vocabulary()`) become token lists
in id order here, before any vocabulary is read; nothing in this module
imports Keras.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from collections.abc import Sequence
from numbers import Integral
from typing import Any

from warm_start_hooks import _errors
from warm_start_hooks import _lookup_rows

SAME = 'same'
ESTIMATOR = 'estimator'
_LAYOUTS = (SAME, ESTIMATOR)


def vocab_tokens(value: Any) -> Any:
    """A vocabulary as `VocabInfo` stores it: a path, or a tuple of tokens in row order.

    Paths and sequences of strings are kept as given. A lookup layer becomes
    its `get_vocabulary()` (special entries included, as its rows are); a
    tokenizer (KerasHub's, or anything with `get_vocabulary()`) becomes its
    tokens in id order; a token -> id mapping (or its `keys()` view, which a
    byte-pair tokenizer's `get_vocabulary()` returns) is ordered by id.
    Anything else, and a mapping whose ids are not 0 .. n-1, is returned
    unchanged, for `VocabInfo.problems` to report.
    """
    if isinstance(value, (str, os.PathLike)):
        return value
    kind = getattr(getattr(value, 'dtype', None), 'kind', None)
    if getattr(value, 'ndim', None) == 1 and kind in ('U', 'S'):
        return value  # A numpy array of tokens: read as it is, at C speed.
    if isinstance(value, Sequence) and all(isinstance(t, str) for t in value):
        return value
    if _lookup_rows.is_lookup_layer(value):
        return _lookup_rows.texts(value.get_vocabulary())
    if hasattr(value, 'get_vocabulary') and callable(value.get_vocabulary):
        return vocab_tokens(_tokenizer_vocabulary(value))
    # A dict's keys() view knows its dict.
    mapping = value if isinstance(value, Mapping) else getattr(value, 'mapping', None)
    if isinstance(mapping, Mapping):
        tokens = _by_id(mapping)
        return value if tokens is None else tokens
    if isinstance(value, Sequence) or hasattr(value, 'tolist'):
        items = value.tolist() if hasattr(value, 'tolist') else value
        if isinstance(items, list) and all(isinstance(t, (str, bytes, Integral)) for t in items):
            return _lookup_rows.texts(items)
    return value


def _tokenizer_vocabulary(tokenizer: Any) -> Any:
    """A tokenizer's token -> id mapping if it has one, else its `get_vocabulary()`."""
    vocabulary = getattr(tokenizer, 'vocabulary', None)
    if isinstance(vocabulary, Mapping):
        return vocabulary  # token -> id: ordered by id below.
    return tokenizer.get_vocabulary()


def _by_id(mapping: Mapping[Any, Any]) -> tuple[str, ...] | None:
    """The tokens of a token -> id mapping in id order; None unless the ids are 0 .. n-1."""
    try:
        ids = sorted((int(i), t) for t, i in mapping.items())
    except (TypeError, ValueError):
        return None
    if [i for i, _ in ids] != list(range(len(ids))):
        return None  # Left as it is: `VocabInfo.problems` says what is wrong.
    return _lookup_rows.texts(t for _, t in ids)


def lookup_vocabularies(
    new_lookup: Any,
    old_vocab: Any,
    *,
    old_layout: str = SAME,
    old_vocab_size: int = -1,
    old_num_oov_buckets: int | None = None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The new and old token lists of `from_lookup`, special rows as reserved tokens.

    Arguments as in `from_lookup`. Returns (new tokens, old tokens), each in
    row order; raises `WarmStartError` listing every problem.
    """
    where = 'VocabInfo.from_lookup'
    _check_arguments(new_lookup, old_vocab, old_layout, old_num_oov_buckets)
    new_rows, n_mask, num_oov = _lookup_rows.lookup_rows(new_lookup)
    new_specials, new_plain = new_rows[: n_mask + num_oov], new_rows[n_mask + num_oov :]
    if _lookup_rows.is_lookup_layer(old_vocab):
        old_rows, old_mask, old_oov = _lookup_rows.lookup_rows(old_vocab)
        old_specials, old_plain = old_rows[: old_mask + old_oov], old_rows[old_mask + old_oov :]
        old_plain = _used(old_plain, old_vocab_size)
    else:
        old_plain = _token_list(old_vocab, where)
        if old_layout == ESTIMATOR:
            old_specials, old_plain = (), _used(old_plain, old_vocab_size)
        else:
            heads = _lookup_rows.texts(new_lookup.get_vocabulary())[: len(new_specials)]
            if old_plain[: len(heads)] == heads:
                old_plain = old_plain[len(heads) :]  # Given as get_vocabulary() returns it.
            old_specials, old_plain = new_specials, _used(old_plain, old_vocab_size)
    clash = next((t for t in new_plain + old_plain if _lookup_rows.is_reserved(t)), None)
    if clash is not None:
        raise _errors.WarmStartError(
            [
                f'a vocabulary holds a token reserved for special rows: {clash!r}. Tokens '
                f'must not start with a NUL byte. Received: token={clash!r}'
            ],
            where,
        )
    old_rows = tuple(old_specials) + tuple(old_plain)
    if old_layout == ESTIMATOR:
        n = num_oov if old_num_oov_buckets is None else old_num_oov_buckets
        # The buckets follow the tokens.
        old_rows += tuple(_lookup_rows.oov_token(i) for i in range(n))
    return new_rows, old_rows


def _check_arguments(
    new_lookup: Any, old_vocab: Any, old_layout: Any, old_num_oov_buckets: Any
) -> None:
    """Raises a WarmStartError listing what is wrong with `from_lookup`'s arguments."""
    where = 'VocabInfo.from_lookup'
    if not _lookup_rows.is_lookup_layer(new_lookup):
        raise _errors.WarmStartError(
            [
                'new_lookup must be a Keras StringLookup, IntegerLookup or TextVectorization '
                f'layer. Received: new_lookup={type(new_lookup).__name__}'
            ],
            where,
        )
    problems = []
    if old_layout not in _LAYOUTS:
        problems.append(
            f"old_layout must be 'same' (the old rows are laid out like new_lookup's) or "
            "'estimator' (OOV buckets after the tokens). "
            f'Received: old_layout={old_layout!r}'
        )
    if old_num_oov_buckets is not None and (
        old_layout != ESTIMATOR or not isinstance(old_num_oov_buckets, int)
    ):
        problems.append(
            "old_num_oov_buckets is the number of OOV buckets of an old_layout='estimator' "
            f'vocabulary, an int. Received: old_num_oov_buckets={old_num_oov_buckets!r}'
        )
    if _lookup_rows.is_lookup_layer(old_vocab) and old_layout == ESTIMATOR:
        problems.append(
            "old_layout='estimator' takes the old column's vocabulary file or token list, not "
            f'a lookup layer. Received: old_vocab={type(old_vocab).__name__}'
        )
    _errors.raise_if_problems(problems, where)


def _token_list(vocab: Any, where: str) -> tuple[str, ...]:
    """Tokens of a path, a token list or a tokenizer."""
    tokens = vocab_tokens(vocab)
    if isinstance(tokens, (str, os.PathLike)):
        return _read_lines(os.fspath(tokens), where)
    if isinstance(tokens, Sequence) and all(isinstance(t, str) for t in tokens):
        return tuple(tokens)
    raise _errors.WarmStartError(
        [
            'old_vocab must be a lookup layer, a tokenizer, a vocabulary file or a list of '
            f'tokens. Received: old_vocab={type(vocab).__name__}'
        ],
        where,
    )


def _read_lines(path: str, where: str) -> tuple[str, ...]:
    """The tokens of a vocabulary file, one a line, read as TensorFlow reads them."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top

    try:
        with tf.io.gfile.GFile(path, 'rb') as f:
            text = f.read().decode('utf-8')
    except (tf.errors.OpError, UnicodeDecodeError) as e:
        raise _errors.WarmStartError(
            [
                f'the old vocabulary file cannot be read ({type(e).__name__}: '
                f'{_errors.first_line(e)}). Expected a UTF-8 file with one token a line. '
                f'Received: old_vocab={path!r}'
            ],
            where,
        ) from None
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    return tuple(line[:-1] if line.endswith('\r') else line for line in lines)


def _used(tokens: tuple[str, ...], size: int) -> tuple[str, ...]:
    """The first `size` tokens; all of them when `size` is negative."""
    return tokens if size is None or size < 0 else tokens[:size]


def from_lookup(
    cls: Any,
    new_lookup: Any,
    old_vocab: Any,
    *,
    old_layout: str = 'same',
    axis: int = 0,
    old_vocab_size: int = -1,
    old_num_oov_buckets: int | None = None,
    backup_initializer: Any = None,
    new_row_init: str | tuple[str, str] | None = None,
    seed: int = 0,
) -> Any:
    """A `VocabInfo` for the rows of a Keras lookup layer.

    `StringLookup`, `IntegerLookup` and `TextVectorization` (Keras 3 and
    Keras 2) put a mask row (when they have a mask token) and their OOV
    rows before the vocabulary. The result maps the mask row to the old
    mask row, OOV row i to old OOV row i, and every token to its old row,
    so the model scores known and unknown tokens as the old one did.

    Args:
      new_lookup: The new model's lookup layer, with its vocabulary.
      old_vocab: The old model's lookup layer; or its vocabulary as a file
        path, a token list or a tokenizer, laid out like `new_lookup` (same
        mask and OOV settings; the special entries `get_vocabulary()`
        lists first may be included or left out); or, with
        `old_layout='estimator'`, the vocabulary file (or list) of an
        Estimator `embedding_column`, whose OOV buckets follow the tokens.
      old_layout: `'same'` or `'estimator'`. Defaults to `'same'`.
      axis: 0 for rows (an `Embedding` after the lookup), 1 for columns
        (a class head over a label lookup). Defaults to `0`.
      old_vocab_size: How many old tokens were used, the special rows not
        counted; -1 for all. Defaults to `-1`.
      old_num_oov_buckets: With `old_layout='estimator'`: the old column's
        `num_oov_buckets`. Defaults to `None` (as many as `new_lookup` has
        OOV rows; an unknown token hashes to the same bucket in both).
      backup_initializer: As in `VocabInfo`. Defaults to `None`.
      new_row_init: As in `VocabInfo`. Defaults to `None`.
      seed: As in `VocabInfo`. Defaults to `0`.

    Returns:
      A `VocabInfo` over token lists in row order, the special rows
      written as reserved tokens, with `num_oov_buckets=0`.

    Raises:
      WarmStartError: The arguments are invalid (listing every problem).

    Example:
      ```python
      lookup = keras.layers.StringLookup(vocabulary='new_vocab.txt')
      info = warm_start_hooks.VocabInfo.from_lookup(lookup, 'old_vocab.txt')
      settings = warm_start_hooks.WarmStartSettings(
          '/models/old', var_name_to_vocab_info={'model/emb/embeddings': info})
      ```
    """
    new_rows, old_rows = lookup_vocabularies(
        new_lookup,
        old_vocab,
        old_layout=old_layout,
        old_vocab_size=old_vocab_size,
        old_num_oov_buckets=old_num_oov_buckets,
    )
    return cls(
        new_rows,
        len(new_rows),
        0,
        old_rows,
        backup_initializer=backup_initializer,
        axis=axis,
        new_row_init=new_row_init,
        seed=seed,
    )
