"""A warning for a vocabulary laid out like a lookup layer's rows but not mapped so.

Do not import this module directly; use `import warm_start_hooks` instead.

A lookup layer's rows start with its mask and OOV rows; an Estimator column
puts its OOV buckets after the tokens. A `VocabInfo` that reads one layout
as the other maps every row one or more rows off, and no check of sizes or
tokens finds it. `layout_note` spots the likely cases, and the plan reports
them as notes that name `VocabInfo.from_lookup` as the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from typing import Protocol

from warm_start_hooks import _errors
from warm_start_hooks import _lookup_rows


class Tokens(Protocol):
    """Tokens by position: a list of `str`, or a `_vocab.Vocab` (read on demand)."""

    def __len__(self) -> int: ...

    def __getitem__(self, i: Any, /) -> Any: ...

    def __contains__(self, token: object, /) -> bool: ...

    def __iter__(self) -> Iterator[str]: ...


# First entries of a lookup layer's `get_vocabulary()`: the default mask and OOV tokens.
_LOOKUP_HEADS = ('', '[UNK]')


def _looks_like_lookup(tokens: Tokens) -> bool:
    """Whether `tokens` start as a lookup layer's `get_vocabulary()` does."""
    return bool(tokens) and tokens[0] in _LOOKUP_HEADS


def layout_note(
    var_name: str,
    new_tokens: Tokens,
    old_tokens: Tokens,
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


def _heads_matched(new_tokens: Tokens, old_tokens: Tokens) -> bool:
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
    return all(head in other for head in heads)


def _lookup_with_plain_vocab(root: Any, tokens: Tokens) -> str | None:
    """The name of a lookup layer of `root` with special rows whose tokens are `tokens`."""
    flatten = getattr(root, '_flatten_layers', None)
    if flatten is None or not tokens or _lookup_rows.is_reserved(tokens[0]):
        return None
    try:
        layers = list(flatten(include_self=False, recursive=True))
    except TypeError:
        return None
    for layer in layers:
        if not _lookup_rows.is_lookup_layer(layer) or getattr(layer, 'invert', False):
            continue
        try:
            rows, n_mask, num_oov = _lookup_rows.lookup_rows(layer)
        except _errors.WarmStartError:
            continue
        plain = rows[n_mask + num_oov :]
        if n_mask + num_oov and len(plain) == len(tokens) and list(plain) == list(tokens):
            return f'{type(layer).__name__} {layer.name!r}'
    return None
