"""What the Keras callback builds before it warm-starts: the model and its optimizer's slots.

Do not import this module directly; use `warm_start_hooks.keras` instead.

A subclassed model that `fit` builds itself is built from the spec of the
first batch; with `include_slots=True` the optimizer is built too, and its
slots are offered beside the model's variables.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import tensorflow as tf

from warm_start_hooks import _errors
from warm_start_hooks import _keras_flavours
from warm_start_hooks import _slots
from warm_start_hooks import _variables


def is_built(model: Any) -> bool:
    """Whether `model` is built and has its variables."""
    return bool(getattr(model, 'built', False)) and bool(model.variables)


def build(model: Any, iterator: Any, flavour: str) -> None:
    """Builds `model` by tracing its call on the spec of `fit`'s batches.

    Raises:
      WarmStartError: The model cannot be built so.
    """
    keras = _keras_flavours.import_keras(flavour)
    spec = getattr(iterator, 'element_spec', None)
    try:
        if spec is None:
            raise TypeError(f'{type(iterator).__name__} has no element_spec')
        x, _, _ = keras.utils.unpack_x_y_sample_weight(spec)
        strategy = getattr(model, 'distribute_strategy', None) or tf.distribute.get_strategy()
        with strategy.scope():
            tf.function(lambda inputs: model(inputs, training=False)).get_concrete_function(x)
    except Exception as e:  # pylint: disable=broad-except
        raise _errors.WarmStartError(
            [
                f'{flavour}: the model was not built before fit(), and building it '
                f'from the spec of the training batches failed ({type(e).__name__}: '
                f'{_errors.first_line(e)}). Expected a model that can be called on one '
                'batch of inputs; build it before fit(), e.g. by calling it on a batch. '
                f'Received: element_spec={spec!r}'
            ],
            'Keras warm start',
        ) from e


def with_optimizer(model: Any, part: Any = None) -> Any:
    """The model (or its `part`) and its optimizer's slots, built, for `include_slots`."""
    part = model if part is None else part
    optimizer = getattr(model, 'optimizer', None)
    if optimizer is None:
        raise _errors.WarmStartError(
            [
                'include_slots=True warm-starts optimizer slots, but the model has no optimizer. '
                'Expected a compiled model; call model.compile(optimizer=...) before fit(). '
                f'Received: model.optimizer={optimizer!r}'
            ],
            'Keras warm start',
        )
    built = getattr(optimizer, 'built', getattr(optimizer, '_built', False))
    if not built and hasattr(optimizer, 'build'):  # Keras 2 optimizers say `_built`.
        optimizer.build(model.trainable_variables)
    # Laid out as tf.train.Checkpoint(model=..., optimizer=...) saves it, so variables are
    # also found by object path; of the optimizer's variables only the slots are offered
    # (its step counter and learning rate stay as they are).
    try:
        layout = tf.train.Checkpoint(model=part, optimizer=optimizer)
    except (TypeError, ValueError) as e:  # Keras 3 on JAX or PyTorch: not TensorFlow objects.
        raise _errors.WarmStartError(
            [
                "include_slots=True finds optimizer slots through TensorFlow's object graph, "
                f'which this model is not part of ({_errors.first_line(e)}). Expected a model on '
                'the TensorFlow backend; warm-start without include_slots on other backends. '
                f'Received: model={type(model).__name__}'
            ],
            'Keras warm start',
        ) from None
    pool = _variables.object_pool(layout)
    model_ids = {id(v) for v in part.variables}
    index = _slots.SlotIndex(_variables.variable_name(v) for v in part.variables)

    def keep(target: _variables.Target) -> bool:
        in_model = any(id(p.variable) in model_ids for p in target.parts)
        return in_model or index.parent(target.name) is not None

    return dataclasses.replace(
        pool,
        trainable=[t for t in pool.trainable if keep(t)],
        everything=[t for t in pool.everything if keep(t)],
    )
