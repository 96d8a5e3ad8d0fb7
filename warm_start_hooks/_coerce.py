"""Settings from the forms users give them: TensorFlow's, JSON-style dicts, paths.

Do not import this module directly; use `import warm_start_hooks` instead.

`coerce_settings` is what every entry point (`warm_start`, the hook, the
callback, the command line) passes its settings through. Fields of the wrong
type are kept for `WarmStartSettings.problems()` to list with every other
problem; only a form that cannot be settings, or unknown field names, raise.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from warm_start_hooks import _errors
from warm_start_hooks import _settings
from warm_start_hooks import _validation


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.name != '_']


def unknown_field_problems(names: Any, cls: type, what: str) -> list[str]:
    """A problem naming fields of `cls` that do not exist, with the closest known ones."""
    known = _field_names(cls)
    unknown = sorted(str(n) for n in names if n not in known)
    if not unknown:
        return []
    return [
        f'unknown {what} field(s) {unknown}; expected some of {known}.'
        + _errors.did_you_mean(unknown[0], known)
        + f' Received: {unknown[0]}'
    ]


def _vocab_info_from_dict(name: Any, fields: Mapping[str, Any]) -> tuple[Any, list[str]]:
    """A `VocabInfo` from JSON-style fields (a `["copy", token]` list becomes the tuple)."""
    where = f'VocabInfo for variable {_validation.key_text(name)!r}'
    problems = [
        f'{where}: {p}' for p in unknown_field_problems(fields, _settings.VocabInfo, 'VocabInfo')
    ]
    required = [f.name for f in dataclasses.fields(_settings.VocabInfo)][:4]
    missing = [f for f in required if f not in fields]
    if missing:
        problems.append(
            f'{where}: missing field(s) {missing}; new_vocab, new_vocab_size, num_oov_buckets '
            f'and old_vocab are required. Received: {dict(fields)!r}'
        )
    if problems:
        return None, problems
    fields = dict(fields)
    if isinstance(fields.get('new_row_init'), list):
        fields['new_row_init'] = tuple(fields['new_row_init'])
    return _settings.VocabInfo(**fields), []


def _from_fields(value: Mapping[str, Any]) -> _settings.WarmStartSettings:
    """`WarmStartSettings` from a dict of fields; wrong types are left to `problems()`."""
    problems = unknown_field_problems(value, _settings.WarmStartSettings, 'settings')
    if 'ckpt_to_initialize_from' not in value:
        problems.append(
            'settings must give ckpt_to_initialize_from, the checkpoint to warm-start from. '
            f'Received: fields {sorted(map(str, value))}'
        )
    fields = dict(value)
    infos = fields.get('var_name_to_vocab_info')
    if isinstance(infos, Mapping):
        converted = {}
        for k, v in infos.items():
            if isinstance(v, Mapping):
                v, info_problems = _vocab_info_from_dict(k, v)
                problems += info_problems
            converted[k] = v
        fields['var_name_to_vocab_info'] = converted
    rules = fields.get('rules')
    if isinstance(rules, (list, tuple)):
        # JSON has no tuples: each [regex, replacement] list becomes a pair.
        fields['rules'] = tuple(tuple(r) if isinstance(r, list) else r for r in rules)
    _errors.raise_if_problems(problems)
    return _settings.WarmStartSettings(**fields)


def coerce_settings(value: Any, **overrides: Any) -> _settings.WarmStartSettings:
    """Returns `WarmStartSettings` from ours, TensorFlow's, a dict or a path.

    Fields of the wrong type are not refused here: `problems()` lists them.

    Args:
      value: A `WarmStartSettings`, a `tf.estimator.WarmStartSettings`, a
        JSON-style dict of the fields, or a checkpoint path (str, bytes or
        `os.PathLike`; all trainable variables).
      **overrides: Keyword-only fields to set on the result.

    Returns:
      The settings.

    Raises:
      WarmStartError: `value` is none of those forms, or names unknown fields.
    """
    if isinstance(value, _settings.WarmStartSettings):
        out = value
    elif isinstance(value, (str, bytes, os.PathLike)):
        out = _settings.WarmStartSettings(value if isinstance(value, bytes) else os.fspath(value))
    elif isinstance(value, Mapping):
        out = _from_fields(value)
    elif hasattr(value, 'ckpt_to_initialize_from'):
        # tf.estimator.WarmStartSettings (a namedtuple); its dicts are copied as given.
        def copy(mapping: Any) -> Any:
            return (dict(mapping) or None) if isinstance(mapping, Mapping) else mapping

        out = _settings.WarmStartSettings(
            value.ckpt_to_initialize_from,
            getattr(value, 'vars_to_warm_start', '.*'),
            copy(getattr(value, 'var_name_to_vocab_info', None)),
            copy(getattr(value, 'var_name_to_prev_var_name', None)),
        )
    else:
        raise _errors.WarmStartError(
            [
                'settings must be a WarmStartSettings, a tf.estimator.WarmStartSettings, a dict '
                f'of its fields or a checkpoint path. Received: settings={value!r}'
            ]
        )
    if overrides:
        _errors.raise_if_problems(
            unknown_field_problems(overrides, _settings.WarmStartSettings, 'settings')
        )
        out = dataclasses.replace(out, **overrides)
    return out
