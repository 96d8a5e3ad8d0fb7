"""Settings for `Estimator(warm_start_from=...)`: TensorFlow's own, when that is exact.

Do not import this module directly; use
`warm_start_hooks.estimator.tf_warm_start_settings` instead.

An Estimator accepts only TensorFlow's `tf.estimator.WarmStartSettings` (it
checks the type) and hands its four fields to `tf.compat.v1.train.warm_start`.
`convert` makes that namedtuple from settings that TensorFlow's warm start
applies exactly as this library does, and refuses everything else, so that no
option is dropped on the way and no value comes out differently.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

from warm_start_hooks import _checkpoint
from warm_start_hooks import _coerce
from warm_start_hooks import _errors
from warm_start_hooks import _settings

CONTEXT = 'conversion to tf.estimator.WarmStartSettings'
_INSTEAD = (
    'Use warm_start_hooks.estimator.warm_started_estimator(estimator, settings) instead of '
    'warm_start_from='
)


def convert(value: Any, estimator_module: Any) -> Any:
    """`tf.estimator.WarmStartSettings` equal in effect to `value`, or a `WarmStartError`.

    Args:
      value: A `WarmStartSettings`, a dict of its fields or a checkpoint path.
      estimator_module: `tf.estimator`.

    Returns:
      A `tf.estimator.WarmStartSettings`.

    Raises:
      WarmStartError: `value` is invalid, or uses something TensorFlow's warm
        start would drop or do differently (every reason listed).
    """
    settings = _coerce.coerce_settings(value)
    problems = settings.problems()
    if not problems:
        problems = differences(settings)
    _errors.raise_if_problems(problems, CONTEXT)
    infos = {
        name: estimator_module.VocabInfo(
            new_vocab=_vocab_path(info.new_vocab),
            new_vocab_size=info.new_vocab_size,
            num_oov_buckets=info.num_oov_buckets,
            old_vocab=_vocab_path(info.old_vocab),
            old_vocab_size=info.old_vocab_size,
            axis=info.axis,
        )
        for name, info in settings.vocab_infos.items()
    }
    return estimator_module.WarmStartSettings(
        ckpt_to_initialize_from=os.fsdecode(settings.ckpt_to_initialize_from),
        vars_to_warm_start=_selection(settings.vars_to_warm_start),
        var_name_to_vocab_info=infos or None,
        var_name_to_prev_var_name=dict(settings.var_name_to_prev_var_name or {}) or None,
    )


def differences(settings: _settings.WarmStartSettings) -> list[str]:
    """Why TensorFlow's warm start would not do what this library does with `settings`."""
    problems = [
        f'{field.name} is an option of this library that TensorFlow does not have. {_INSTEAD}. '
        f'Received: {field.name}={getattr(settings, field.name)!r}'
        for field in dataclasses.fields(settings)
        if field.kw_only and not _is_default(getattr(settings, field.name), field.default)
    ]
    problems += _selection_differences(settings.vars_to_warm_start)
    problems += _source_differences(settings.ckpt_to_initialize_from)
    for name in settings.var_name_to_prev_var_name or {}:
        if not isinstance(name, str):
            problems.append(_not_a_name('var_name_to_prev_var_name', name))
    for name, info in settings.vocab_infos.items():
        if not isinstance(name, str):
            problems.append(_not_a_name('var_name_to_vocab_info', name))
        problems += _vocab_differences(str(name), info)
    return problems


def _vocab_path(vocab: _settings.Vocab) -> str:
    """A vocabulary file's path (`differences` refused vocabularies given as tokens)."""
    if not isinstance(vocab, (str, bytes, os.PathLike)):
        raise TypeError(f'Expected a vocabulary file path. Received: {vocab!r}')
    return os.fsdecode(vocab)


def _is_default(value: Any, default: Any) -> bool:
    empty: tuple[Any, ...] = ((), [], {}, None)
    return value == default or (value in empty and default in empty and not value)


def _selection(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _selection_differences(value: Any) -> list[str]:
    if value is None or isinstance(value, str):
        return []
    if not all(isinstance(p, str) for p in value):
        return [
            'vars_to_warm_start must be a regex or a list of regexes: an Estimator builds its '
            'variables when it trains, so variable objects cannot be named beforehand. '
            f'Received: vars_to_warm_start={value!r}'
        ]
    return [
        f'vars_to_warm_start pattern {p!r} matches global_step: TensorFlow would warm-start '
        'the training step counter from the checkpoint, this library only when a pattern '
        'names it. Exclude it from the pattern, or name it to keep it. '
        f'Received: vars_to_warm_start={value!r}'
        for p in value
        if 'global_step' not in p and re.match(p, 'global_step')
    ]


def _source_differences(path: Any) -> list[str]:
    try:
        source = _checkpoint.CheckpointSource(path)
    except _errors.Error as e:
        return [str(e)]
    if not source.object_based:
        return []
    return [
        f'{source.prefix} is an object-based checkpoint (tf.train.Checkpoint, Keras): '
        "TensorFlow's warm start finds variables by name in name-based checkpoints only, "
        f'where this library also follows the object graph. {_INSTEAD}. '
        f'Received: ckpt_to_initialize_from={path!r}'
    ]


def _vocab_differences(name: str, info: _settings.VocabInfo) -> list[str]:
    where = f'VocabInfo for {name!r}'
    out = []
    for field in ('new_vocab', 'old_vocab'):
        value = getattr(info, field)
        if not isinstance(value, (str, os.PathLike)):
            out.append(
                f'{where}: TensorFlow reads vocabularies from files only. Write the tokens to a '
                f'file, one a line. Received: {field} of {len(value)} tokens'
            )
    if info.backup_initializer is not None:
        out.append(
            f'{where}: TensorFlow calls backup_initializer with a flattened shape (issue '
            "#33567), this library with the variable's, so new rows would get other values. "
            f'{_INSTEAD}. Received: backup_initializer={info.backup_initializer!r}'
        )
    if info.axis == 1 and info.old_vocab_size != -1:
        out.append(
            f'{where}: TensorFlow ignores old_vocab_size on axis 1 and would use every line of '
            f'the old vocabulary. {_INSTEAD}. Received: old_vocab_size={info.old_vocab_size}'
        )
    for option in dataclasses.fields(info):
        value = getattr(info, option.name)
        if option.kw_only and not _is_default(value, option.default):
            out.append(
                f'{where}: {option.name} is an option of this library that TensorFlow does not '
                f'have. {_INSTEAD}. Received: {option.name}={value!r}'
            )
    return out


def _not_a_name(field: str, key: Any) -> str:
    return (
        f'{field} keys must be variable names for TensorFlow: an Estimator builds its '
        f'variables when it trains. Received: key {key!r}'
    )
