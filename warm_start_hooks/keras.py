"""Keras integration: `WarmStartCallback` warm-starts a model when `fit` starts.

The callback is a thin wrapper over the core: it plans with
`_api.make_plan(settings, variables=model)` (the same settings, selection,
renaming, vocabulary remap and report as `WarmStartHook`) and assigns the
values in eager mode, before the first training step.

Keras comes in two flavours, and a callback must subclass the `Callback` of
the flavour that trains the model:

  * `WarmStartCallback` subclasses `keras.callbacks.Callback` of `import
    keras`: Keras 3 on TensorFlow >= 2.16, and Keras 2 (`tf.keras`) on
    TensorFlow <= 2.15.
  * `TfKerasWarmStartCallback` subclasses `tf_keras.callbacks.Callback`, for
    models built with the `tf_keras` package (Keras 2 on TensorFlow >= 2.16,
    also what `tf.keras` is under `TF_USE_LEGACY_KERAS=1`).

Both classes are created on first use, so importing this module imports no
Keras; a missing package raises `FrameworkMissingError` then.
"""

from __future__ import annotations

from warm_start_hooks import _callback
from warm_start_hooks import _keras_flavours

_classes: dict[str, type] = {}


def _callback_class(flavour: str) -> type:
    if flavour not in _classes:
        keras = _keras_flavours.import_keras(flavour)
        _classes[flavour] = type(
            flavour,
            (_callback.WarmStartCallbackBase, keras.callbacks.Callback),
            {
                '__doc__': _callback.WarmStartCallbackBase.__doc__,
                '__module__': __name__,
                '__qualname__': flavour,
                '_flavour': flavour,
            },
        )
    return _classes[flavour]


def __getattr__(name: str) -> type:
    # The callback classes subclass a Keras class, so they are made on first use.
    if name in _keras_flavours.FLAVOURS:
        return _callback_class(name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
