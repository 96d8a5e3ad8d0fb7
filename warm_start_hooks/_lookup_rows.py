"""The rows of a Keras lookup layer, with its mask and OOV rows as reserved tokens.

Do not import this module directly; use `import warm_start_hooks` instead.

Keras' `StringLookup`, `IntegerLookup` and `TextVectorization` put their
special rows first: a mask row (when `mask_token` is set and the output is
integer ids), then `num_oov_indices` OOV rows, then the vocabulary.
`lookup_rows` writes each special row as a reserved token (`MASK`,
`oov_token(i)`) that no real vocabulary holds, so special rows map by the
same token matching as every other row. Nothing in this module imports Keras.
"""

from __future__ import annotations

from typing import Any

from warm_start_hooks import _errors

# Reserved tokens for special rows. A NUL byte starts each, so no vocabulary
# file or tokenizer holds them by accident; `from_lookup` checks that none does.
MASK = '\x00[mask]'
_OOV_PREFIX = '\x00[oov '


def oov_token(i: int) -> str:
    """The reserved token of OOV row (or bucket) `i`."""
    return f'{_OOV_PREFIX}{i}]'


def is_reserved(token: str) -> bool:
    """Whether `token` is the reserved token of a mask or OOV row."""
    return token == MASK or token.startswith(_OOV_PREFIX)


def is_lookup_layer(obj: Any) -> bool:
    """Whether `obj` is a Keras (3 or 2) `StringLookup`/`IntegerLookup`/`TextVectorization`."""
    if hasattr(obj, '_lookup_layer'):  # TextVectorization wraps a StringLookup.
        obj = obj._lookup_layer  # pylint: disable=protected-access
    return hasattr(obj, 'get_vocabulary') and hasattr(obj, 'num_oov_indices')


def _inner(layer: Any) -> Any:
    """The lookup layer itself (TextVectorization wraps one)."""
    return getattr(layer, '_lookup_layer', layer)


def texts(values: Any) -> tuple[str, ...]:
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
        full = texts(layer.get_vocabulary(include_special_tokens=True))
        plain = texts(layer.get_vocabulary(include_special_tokens=False))
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
