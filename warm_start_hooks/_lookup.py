"""Keras lookup layers and tokenizers as vocabularies.

Do not import this module directly; use `import warm_start_hooks` instead.

Keras' `StringLookup`, `IntegerLookup` and `TextVectorization` put their
special rows first: a mask row (when `mask_token` is set and the output is
integer ids), then `num_oov_indices` OOV rows, then the vocabulary. An
Estimator `embedding_column` puts its OOV buckets after the vocabulary.
`VocabInfo` maps rows by token, so `from_lookup` writes each special row as a
reserved token (`MASK`, `oov_token(i)`) that no real vocabulary holds: the
mask row then maps to the old mask row and OOV row i to old OOV row i by
the same token matching as every other row, wherever each layout puts them.

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

# Reserved tokens for special rows. A NUL byte starts each, so no vocabulary
# file or tokenizer holds them by accident; `from_lookup` checks that none does.
MASK = '\x00[mask]'
_OOV_PREFIX = '\x00[oov '
SAME = 'same'
ESTIMATOR = 'estimator'
_LAYOUTS = (SAME, ESTIMATOR)
# First entries of a lookup layer's `get_vocabulary()`: the default mask and OOV tokens.
_LOOKUP_HEADS = ('', '[UNK]')


def oov_token(i: int) -> str:
    """The reserved token of OOV row (or bucket) `i`."""
    return f'{_OOV_PREFIX}{i}]'


def is_reserved(token: str) -> bool:
    return token == MASK or token.startswith(_OOV_PREFIX)


def is_lookup_layer(obj: Any) -> bool:
    """Whether `obj` is a Keras (3 or 2) `StringLookup`/`IntegerLookup`/`TextVectorization`."""
    if hasattr(obj, '_lookup_layer'):  # TextVectorization wraps a StringLookup.
        obj = obj._lookup_layer  # pylint: disable=protected-access
    return hasattr(obj, 'get_vocabulary') and hasattr(obj, 'num_oov_indices')


def _inner(layer: Any) -> Any:
    return getattr(layer, '_lookup_layer', layer)


def _texts(values: Any) -> tuple[str, ...]:
    """Tokens as `str` (numpy strings and IntegerLookup's ints included); bytes as UTF-8."""
    return tuple(v.decode('utf-8') if isinstance(v, bytes) else str(v) for v in values)


def lookup_rows(layer: Any) -> tuple[tuple[str, ...], int, int]:
    """(tokens in row order with special rows reserved, mask rows, OOV rows) of a lookup layer.

    Raises:
      WarmStartError: The layer has no vocabulary yet, or its special rows are
        laid out in a way this reader does not know.
    """
    inner = _inner(layer)
    name = f'{type(layer).__name__} {getattr(layer, "name", "")!r}'
    try:
        full = _texts(layer.get_vocabulary(include_special_tokens=True))
        plain = _texts(layer.get_vocabulary(include_special_tokens=False))
    except Exception as e:  # pylint: disable=broad-except
        raise _errors.WarmStartError(
            [
                f'{name}: its vocabulary cannot be read ({type(e).__name__}: '
                f'{_errors.first_line(e)}). Expected a lookup layer with a vocabulary: pass '
                'vocabulary= or call adapt() first. Received: '
                f'new_lookup={type(layer).__name__}'
            ],
            'VocabInfo.from_lookup',
        ) from None
    if not plain:
        raise _errors.WarmStartError(
            [
                f'{name} has no vocabulary (only its special entries {list(full)}). Expected '
                'a lookup layer with tokens: pass vocabulary= or call adapt() first. Received: '
                f'vocabulary_size={len(full)}'
            ],
            'VocabInfo.from_lookup',
        )
    n_special = len(full) - len(plain)
    num_oov = int(getattr(inner, 'num_oov_indices', 0) or 0)
    n_mask = n_special - num_oov
    if n_mask not in (0, 1) or full[n_special:] != plain:
        raise _errors.WarmStartError(
            [
                f'{name}: its vocabulary has {n_special} special entries before the tokens, but '
                f'num_oov_indices={num_oov}; expected the mask row (if any) and the OOV rows '
                'first. Pass the vocabularies as lists to VocabInfo instead. Received: '
                f'vocabulary={list(full[: n_special + 3])} ...'
            ],
            'VocabInfo.from_lookup',
        )
    specials = [MASK] * n_mask + [oov_token(i) for i in range(num_oov)]
    return tuple(specials) + plain, n_mask, num_oov


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
    if isinstance(value, Sequence) and all(isinstance(t, str) for t in value):
        return value
    if is_lookup_layer(value):
        return _texts(value.get_vocabulary())
    if hasattr(value, 'get_vocabulary') and callable(value.get_vocabulary):
        return vocab_tokens(_tokenizer_vocabulary(value))
    mapping = getattr(value, 'mapping', None)  # A dict's keys() view knows its dict.
    if isinstance(value, Mapping) or isinstance(mapping, Mapping):
        tokens = _by_id(value if isinstance(value, Mapping) else mapping)
        return value if tokens is None else tokens
    if isinstance(value, Sequence) or hasattr(value, 'tolist'):
        items = value.tolist() if hasattr(value, 'tolist') else value
        if isinstance(items, list) and all(isinstance(t, (str, bytes, Integral)) for t in items):
            return _texts(items)
    return value


def _tokenizer_vocabulary(tokenizer: Any) -> Any:
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
    return _texts(t for _, t in ids)


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
    new_rows, n_mask, num_oov = lookup_rows(new_lookup)
    new_specials, new_plain = new_rows[: n_mask + num_oov], new_rows[n_mask + num_oov :]
    if is_lookup_layer(old_vocab):
        old_rows, old_mask, old_oov = lookup_rows(old_vocab)
        old_specials, old_plain = old_rows[: old_mask + old_oov], old_rows[old_mask + old_oov :]
        old_plain = _used(old_plain, old_vocab_size)
    else:
        old_plain = _token_list(old_vocab, where)
        if old_layout == ESTIMATOR:
            old_specials, old_plain = (), _used(old_plain, old_vocab_size)
        else:
            heads = _texts(new_lookup.get_vocabulary())[: len(new_specials)]
            if old_plain[: len(heads)] == heads:
                old_plain = old_plain[len(heads) :]  # Given as get_vocabulary() returns it.
            old_specials, old_plain = new_specials, _used(old_plain, old_vocab_size)
    clash = next((t for t in new_plain + old_plain if is_reserved(t)), None)
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
        old_rows += tuple(oov_token(i) for i in range(n))  # The buckets follow the tokens.
    return new_rows, old_rows


def _check_arguments(new_lookup, old_vocab, old_layout, old_num_oov_buckets) -> None:
    """Raises a WarmStartError listing what is wrong with `from_lookup`'s arguments."""
    where = 'VocabInfo.from_lookup'
    if not is_lookup_layer(new_lookup):
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
    if is_lookup_layer(old_vocab) and old_layout == ESTIMATOR:
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
    return tokens if size is None or size < 0 else tokens[:size]


def _looks_like_lookup(tokens: Sequence[str]) -> bool:
    return bool(tokens) and tokens[0] in _LOOKUP_HEADS


def layout_note(
    var_name: str,
    new_tokens: Sequence[str],
    old_tokens: Sequence[str],
    num_oov_buckets: int,
    root: Any = None,
) -> str | None:
    """A warning when a vocabulary looks laid out like a lookup layer's but is not used so.

    Args:
      var_name: The variable remapped.
      new_tokens: The new vocabulary as read (all of it).
      old_tokens: The old vocabulary as read.
      num_oov_buckets: The VocabInfo's OOV rows after the new tokens.
      root: The model warm-started, if known: its lookup layers are compared
        with the new vocabulary.

    Returns:
      The warning, or None.
    """
    fix = (
        'If the rows belong to a Keras lookup layer (OOV rows first), build the VocabInfo with '
        "VocabInfo.from_lookup(lookup, old_vocab, old_layout='same' or 'estimator')."
    )
    where = f'Warning: VocabInfo of {var_name!r}:'
    new_like, old_like = _looks_like_lookup(new_tokens), _looks_like_lookup(old_tokens)
    if new_like and num_oov_buckets:
        return (
            f"{where} the new vocabulary starts like a lookup layer's ({list(new_tokens[:2])}, "
            f'its OOV rows first), but num_oov_buckets={num_oov_buckets} puts OOV rows after the '
            f'tokens; every row may be off. {fix}'
        )
    if new_like != old_like and not _heads_matched(new_tokens, old_tokens):
        which = 'new' if new_like else 'old'
        return (
            f"{where} the {which} vocabulary starts like a lookup layer's (OOV rows first) but "
            f'the other does not ({list(new_tokens[:2])} vs {list(old_tokens[:2])}); rows of '
            f'one layout are read as the other. {fix}'
        )
    layer = _lookup_with_plain_vocab(root, new_tokens)
    if layer is not None:
        return (
            f'{where} the new vocabulary is the vocabulary of {layer}, whose rows start with '
            'its mask/OOV rows, but the VocabInfo maps row i to token i; every row is off. '
            f'{fix}'
        )
    return None


def _heads_matched(new_tokens: Sequence[str], old_tokens: Sequence[str]) -> bool:
    """Whether the lookup-like side's leading special entries are tokens of the other side.

    E.g. an Estimator vocabulary given with its OOV bucket named '[UNK]' after
    the tokens: the OOV row then maps by token, and nothing is off.
    """
    side, other = (
        (new_tokens, old_tokens) if _looks_like_lookup(new_tokens) else (old_tokens, new_tokens)
    )
    heads = []
    for token in side[:2]:
        if token not in _LOOKUP_HEADS:
            break
        heads.append(token)
    return set(heads) <= set(other)


def _lookup_with_plain_vocab(root: Any, tokens: Sequence[str]) -> str | None:
    """The name of a lookup layer of `root` with special rows whose tokens are `tokens`."""
    flatten = getattr(root, '_flatten_layers', None)
    if flatten is None or not tokens or is_reserved(tokens[0]):
        return None
    try:
        layers = list(flatten(include_self=False, recursive=True))
    except TypeError:
        return None
    for layer in layers:
        if not is_lookup_layer(layer) or getattr(layer, 'invert', False):
            continue
        try:
            rows, n_mask, num_oov = lookup_rows(layer)
        except _errors.WarmStartError:
            continue
        if n_mask + num_oov and list(rows[n_mask + num_oov :]) == list(tokens):
            return f'{type(layer).__name__} {layer.name!r}'
    return None


def from_lookup(
    cls: type,
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
