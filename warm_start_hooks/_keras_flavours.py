"""The two Keras flavours a callback may subclass, and the checks between them.

Do not import this module directly; use `warm_start_hooks.keras` instead.

A callback must subclass the `Callback` of the Keras that trains the model:
`keras` (Keras 3 on TensorFlow >= 2.16, Keras 2 on TensorFlow <= 2.15) or
`tf_keras` (Keras 2 on TensorFlow >= 2.16). Each is imported only when its
class is first used.
"""

from __future__ import annotations

import importlib
from typing import Any

from warm_start_hooks import _errors

# Public class name -> (module whose `callbacks.Callback` it subclasses, pip package).
FLAVOURS = {
    'WarmStartCallback': ('keras', 'keras'),
    'TfKerasWarmStartCallback': ('tf_keras', 'tf-keras'),
}
OTHER = {
    'WarmStartCallback': 'TfKerasWarmStartCallback',
    'TfKerasWarmStartCallback': 'WarmStartCallback',
}


def import_keras(flavour: str) -> Any:
    """The Keras module of `flavour`, or a `FrameworkMissingError` that says what to install."""
    module, package = FLAVOURS[flavour]
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise _errors.FrameworkMissingError(
            f'{flavour} needs the {module!r} package, which cannot be imported ({e}). Install '
            f'it (pip install {package}), or use {OTHER[flavour]} for the other Keras. '
            f'Received: {flavour}'
        ) from e


def check_flavour(flavour: str, model: Any) -> None:
    """Raises a TypeError naming the right class if `model` is of the other flavour."""
    keras = import_keras(flavour)
    if isinstance(model, keras.Model):
        return
    other = OTHER[flavour]
    module = type(model).__module__.split('.')[0]
    raise TypeError(
        f'{flavour} subclasses {keras.__name__}.callbacks.Callback, but the model is a '
        f'{module} model ({type(model).__name__}); a model trains only with callbacks of its '
        f'own Keras. Expected a {keras.__name__}.Model. Use warm_start_hooks.keras.{other} '
        f'for this model. Received: model={type(model).__module__}.{type(model).__name__}'
    )
