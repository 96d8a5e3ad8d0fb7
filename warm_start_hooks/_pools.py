"""Where a warm start selects its variables from, as a `Pool`.

Do not import this module directly; use `import warm_start_hooks` instead.

A Keras model, a `tf.Module`, a list or a dict of name to variable in eager
mode; the graph's collections in graph mode. A wrong form is a
`WarmStartError` that names every offending item.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from warm_start_hooks import _errors
from warm_start_hooks import _select
from warm_start_hooks import _variables


def object_pool(variables: Any) -> _variables.Pool:
    """The variables of a model, module, list or dict; a wrong form is a WarmStartError."""
    if isinstance(variables, Mapping):
        items = list(variables.items())
    elif isinstance(variables, (list, tuple)):
        items = list(enumerate(variables))
    else:
        items = []
    problems = [
        f'variables[{k!r}] is not a variable or a PartitionedVariable but a '
        f'{type(v).__name__}. Pass the model, or only its variables. '
        f'Received: variables[{k!r}]={v!r:.80}'
        for k, v in items
        if not (_variables.is_variable(v) or _select.is_group(v))
    ]
    if isinstance(variables, Mapping):
        problems += [
            f'variables keys must be variable names (str). Received: {k!r}'
            for k, _ in items
            if not isinstance(k, str)
        ]
    _errors.raise_if_problems(problems)
    try:
        return _variables.object_pool(variables)
    except TypeError as e:
        raise _errors.WarmStartError([str(e)]) from None


def pool_of(variables: Any, vars_to_warm_start: Any) -> _variables.Pool:
    """The pool a warm start selects from: `variables`, or graph collections.

    Raises:
      WarmStartError: `variables` has a wrong form, or is missing in eager mode.
    """
    if isinstance(variables, _variables.Pool):
        return variables
    if variables is not None:
        return object_pool(variables)
    if tf.executing_eagerly():
        if (
            isinstance(vars_to_warm_start, (list, tuple))
            and vars_to_warm_start
            and all(_variables.is_variable(v) or _select.is_group(v) for v in vars_to_warm_start)
        ):
            return _variables.object_pool(list(vars_to_warm_start))
        raise _errors.WarmStartError(
            [
                'In eager mode there is no variable collection to select from. Pass the model '
                'or its variables: warm_start(..., variables=model) (a Keras model, a tf.Module, '
                'a list, or a dict of name to variable). Received: variables=None'
            ]
        )
    return _variables.graph_pool()
