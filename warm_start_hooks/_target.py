"""The part of a Keras model a warm start aims at: `WarmStartCallback(target=...)`.

Do not import this module directly; use `import warm_start_hooks` instead.

A target is a layer name (found among the model's layers, nested ones
included) or a callable taking the model and returning a layer or sub-model.
It is resolved on the built model; what it returns must be a part of it.
"""

from __future__ import annotations

from typing import Any

from warm_start_hooks import _errors


def resolve(model: Any, target: Any, flavour: str) -> Any:
    """The layer or sub-model of `model` that `target` names (the model when None)."""
    if target is None:
        return model
    if isinstance(target, str):
        names = [layer.name for layer in all_layers(model)]
        for layer in all_layers(model):
            if layer.name == target:
                return layer
        raise _errors.WarmStartError(
            [
                f'{flavour}: target {target!r} names no layer of model {model.name!r}.'
                f'{_errors.did_you_mean(target, names)} Expected the name of a layer or '
                f'sub-model, e.g. {names[:3]}. Received: target={target!r}'
            ],
            'Keras warm start',
        )
    try:
        part = target(model)
    except Exception as e:  # pylint: disable=broad-except
        raise _errors.WarmStartError(
            [
                f'{flavour}: target({type(model).__name__}) failed ({type(e).__name__}: '
                f'{_errors.first_line(e)}). Expected a callable that returns a layer or '
                f'sub-model of the model, e.g. lambda m: m.backbone. Received: target={target!r}'
            ],
            'Keras warm start',
        ) from e
    ids = {id(v) for v in model.variables}
    own = list(getattr(part, 'variables', None) or [])
    if not own or not all(id(v) in ids for v in own):
        raise _errors.WarmStartError(
            [
                f'{flavour}: target returned {type(part).__name__}, which is not a built layer '
                'or sub-model of the model being fitted (it has no variables, or variables the '
                'model lacks). Expected a part of the model, e.g. lambda m: m.backbone. '
                f'Received: target={target!r}'
            ],
            'Keras warm start',
        )
    return part


def all_layers(model: Any) -> list[Any]:
    """Every layer below `model`, nested ones included, outermost first."""
    flatten = getattr(model, '_flatten_layers', None)
    if flatten is not None:
        return list(flatten(include_self=False, recursive=True))
    return list(getattr(model, 'layers', ()))
