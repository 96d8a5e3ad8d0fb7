"""Checks of settings fields, in words a user can act on. Pure Python, no TF.

Do not import this module directly; use `import warm_start_hooks` instead.

Each function takes a field's value and returns one message per problem:
what is wrong, what was expected, how to fix it, and the value received.
A value of the wrong type is a problem like any other, never an exception.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from warm_start_hooks import _names

_NOT_UTF8 = (
    '{field} is a bytes path that is not UTF-8; TensorFlow reads paths as UTF-8. Rename the '
    'file or directory, or pass the path as str. Received: {field}={value!r}'
)

# What each mapping field maps a variable to.
MAPPINGS = {
    'var_name_to_vocab_info': 'VocabInfo',
    'var_name_to_prev_var_name': 'checkpoint name',
}


def path_problems(field: str, value: Any, what: str, optional: bool = False) -> list[str]:
    """A path field: a non-empty `str` or `os.PathLike` (bytes are decoded before)."""
    if optional and value is None:
        return []
    if isinstance(value, (str, os.PathLike)) and os.fspath(value):
        return []
    if isinstance(value, bytes) and value:
        return [_NOT_UTF8.format(field=field, value=value)]
    return [
        f'{field} must be a non-empty {what} (str, bytes or os.PathLike)'
        f'{" or None" if optional else ""}. Received: {field}={value!r}'
    ]


def choice_problems(field: str, value: Any, allowed: Iterable[Any]) -> list[str]:
    """A field that takes one of a few strings (or None, if `allowed` holds it)."""
    allowed = tuple(allowed)
    if any(value is a or (isinstance(value, str) and value == a) for a in allowed):
        return []
    return [f'{field} must be {_one_of(allowed)}. Received: {field}={value!r}']


def _one_of(allowed: Sequence[Any]) -> str:
    """The choices as text: 'a', 'b' or None."""
    names = [repr(a) for a in allowed]
    return names[0] if len(names) == 1 else f'{", ".join(names[:-1])} or {names[-1]}'


def flag_problems(field: str, value: Any) -> list[str]:
    if isinstance(value, bool):
        return []
    return [f'{field} must be True or False. Received: {field}={value!r}']


def positive_int_problems(field: str, value: Any) -> list[str]:
    """A positive int, or None."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        return []
    return [f'{field} must be a positive int or None. Received: {field}={value!r}']


def shape_policy_problems(policy: Any, allowed: Sequence[str]) -> list[str]:
    """A policy name, or a dict of variable-name regex to policy name."""
    expected = f'shape_policy must be {_one_of(allowed)}'
    if isinstance(policy, str):
        return [] if policy in allowed else [f'{expected}. Received: shape_policy={policy!r}']
    if not isinstance(policy, Mapping):
        return [
            f'{expected}, or a dict of variable-name regex to one of them, e.g. '
            f"{{'head/.*': 'skip'}}. Received: shape_policy={policy!r}"
        ]
    out = patterns_problems('shape_policy', list(policy))
    for pattern, p in policy.items():
        if not (isinstance(p, str) and p in allowed):
            out.append(f'{expected}. Received: shape_policy={{{pattern!r}: {p!r}}}')
    return out


def patterns_problems(field: str, patterns: Any) -> list[str]:
    """A list of regex strings; a lone string is a problem, not split into characters."""
    if isinstance(patterns, (str, bytes)) or not _is_collection(patterns):
        return [
            f'{field} must be a list of regex strings; a single string is not split into '
            f"characters. Wrap it in a list, e.g. {field}=['step_.*']. "
            f'Received: {field}={patterns!r}'
        ]
    out = [
        f'{field} holds a {type(p).__name__}, not a regex string. Received: {p!r}'
        for p in patterns
        if not isinstance(p, str)
    ]
    bad_regex = _names.regex_problems([p for p in patterns if isinstance(p, str)], field)
    return out + [f'{m}. Fix the pattern (see the re module).' for m in bad_regex]


def rules_problems(rules: Any) -> list[str]:
    """A list of `(regex, replacement-or-None)` pairs."""
    if isinstance(rules, (str, bytes)) or not _is_collection(rules):
        return [
            'rules must be a list of (regex, replacement-or-None) pairs, e.g. '
            f"[('new/(.*)', r'old/\\1')]; a single string is not split into characters. "
            f'Received: rules={rules!r}'
        ]
    return [
        f'each rule must be a (regex, replacement-or-None) pair. Received: rule={rule!r}'
        for rule in rules
        if not (
            isinstance(rule, (tuple, list))
            and len(rule) == 2
            and isinstance(rule[0], str)
            and (rule[1] is None or isinstance(rule[1], str))
        )
    ]


def _is_collection(value: Any) -> bool:
    return isinstance(value, (Sequence, set, frozenset))


def mapping_problems(field: str, mapping: Any) -> list[str]:
    """A dict (or None) whose keys are variable names or variables."""
    if mapping is None:
        return []
    if not isinstance(mapping, Mapping):
        return [
            f'{field} must be a dict of variable name (or variable.ref()) to '
            f'{MAPPINGS[field]}, or None. Received: {field}={mapping!r}'
        ]
    return [
        f'{field} keys must be variable names (str) or variables (variable.ref() in TF2). '
        f'Received: key={key!r}'
        for key in mapping
        if not is_variable_key(key)
    ]


def is_variable_key(key: Any) -> bool:
    if isinstance(key, str):
        return bool(key)
    # `tf.Variable.ref()`, or a variable-like object (a Keras 3 or partitioned variable).
    return hasattr(key, 'deref') or (hasattr(key, 'shape') and hasattr(key, 'dtype'))


def key_text(key: Any) -> str:
    """A mapping key as users know it: the name, or a variable's path or name."""
    if isinstance(key, str):
        return key
    variable = key.deref() if hasattr(key, 'deref') else key
    return str(getattr(variable, 'path', None) or getattr(variable, 'name', None) or repr(key))


def vocab_info_problems(infos: Any, convert: Callable[[Any], Any]) -> list[str]:
    """`var_name_to_vocab_info`: a dict of variable to a `VocabInfo` without problems.

    Args:
      infos: The field's value.
      convert: Returns our `VocabInfo` for a value (ours or TensorFlow's), or None.
    """
    out = mapping_problems('var_name_to_vocab_info', infos)
    if out or infos is None:
        return out
    for key, info in infos.items():
        name = key_text(key)
        converted = convert(info)
        if converted is None:
            out.append(
                'var_name_to_vocab_info values must be VocabInfo (warm_start_hooks.VocabInfo '
                f'or tf.compat.v1.train.VocabInfo). Received: {name!r}: {info!r}'
            )
        else:
            out.extend(converted.problems(name))
    return out


def prev_name_problems(names: Any) -> list[str]:
    """`var_name_to_prev_var_name`: a dict of variable to a checkpoint name."""
    out = mapping_problems('var_name_to_prev_var_name', names)
    if out or names is None:
        return out
    return [
        'var_name_to_prev_var_name values must be the non-empty name of a tensor in the '
        f'checkpoint (str). Received: {key_text(key)!r}: {prev!r}'
        for key, prev in names.items()
        if not isinstance(prev, str) or not prev
    ]


def vocab_fields_problems(info: Any, var_name: str, new_row_inits: Sequence[str]) -> list[str]:
    """The fields of one `VocabInfo`, for the variable `var_name`."""
    where = f'VocabInfo for variable {var_name!r}'
    out = [
        f'{where}: {field} must be an int. Received: {field}={getattr(info, field)!r}'
        for field in ('new_vocab_size', 'num_oov_buckets', 'old_vocab_size', 'axis', 'seed')
        if isinstance(getattr(info, field), bool) or not isinstance(getattr(info, field), int)
    ]
    if out:
        return out
    checks = (
        (
            info.axis in (0, 1),
            'axis must be 0 (rows, e.g. embeddings) or 1 (columns, e.g. a class head)',
            'axis',
        ),
        (info.new_vocab_size >= 0, 'new_vocab_size must be >= 0', 'new_vocab_size'),
        (info.num_oov_buckets >= 0, 'num_oov_buckets must be >= 0', 'num_oov_buckets'),
        (
            info.old_vocab_size == -1 or info.old_vocab_size > 0,
            'old_vocab_size must be -1 (every line) or positive',
            'old_vocab_size',
        ),
    )
    out = [
        f'{where}: {text}. Received: {field}={getattr(info, field)!r}'
        for ok, text, field in checks
        if not ok
    ]
    for field in ('new_vocab', 'old_vocab'):
        value = getattr(info, field)
        if isinstance(value, bytes):
            out.append(f'{where}: ' + _NOT_UTF8.format(field=field, value=value))
        elif isinstance(value, Mapping) or isinstance(getattr(value, 'mapping', None), Mapping):
            out.append(
                f'{where}: {field} is a token -> id mapping whose ids are not 0 .. n-1 (one '
                'token each), so it gives no row order. Pass the tokens in row order, or the '
                f'tokenizer itself. Received: {field}={value!r:.200}'
            )
        elif not (isinstance(value, (str, os.PathLike, Sequence)) or _is_vector(value)) or (
            isinstance(value, (str, os.PathLike)) and not os.fspath(value)
        ):
            out.append(
                f'{where}: {field} must be a file path or a sequence of tokens. '
                f'Received: {field}={value!r:.200}'
            )
    if not isinstance(info.allow_no_overlap, bool):
        out.append(
            f'{where}: allow_no_overlap must be True or False. '
            f'Received: allow_no_overlap={info.allow_no_overlap!r}'
        )
    return out + _init_problems(info, where, new_row_inits)


def _is_vector(value: Any) -> bool:
    """Whether `value` is a 1-D array (numpy's) of tokens, without importing numpy."""
    kind = getattr(getattr(value, 'dtype', None), 'kind', None)
    return getattr(value, 'ndim', None) == 1 and kind in ('U', 'S', 'O')


def _init_problems(info: Any, where: str, new_row_inits: Sequence[str]) -> list[str]:
    backup, how = info.backup_initializer, info.new_row_init
    out = []
    if backup is not None and not callable(backup):
        out.append(
            f'{where}: backup_initializer must be callable, such as '
            'tf.compat.v1.truncated_normal_initializer(), or None. '
            f'Received: backup_initializer={backup!r}'
        )
    if how is None:
        return out
    named = isinstance(how, str) and how in new_row_inits
    donor = (
        isinstance(how, tuple) and len(how) == 2 and how[0] == 'copy' and isinstance(how[1], str)
    )
    if not (named or donor):
        out.append(
            f"{where}: new_row_init must be 'mean', 'gaussian', 'fresh' or ('copy', token). "
            f'Received: new_row_init={how!r}'
        )
    elif backup is not None:
        out.append(
            f'{where}: give backup_initializer or new_row_init, not both. Received: '
            f'new_row_init={how!r}'
        )
    return out
