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

import dataclasses
import importlib
import os
import time
from typing import Any

import tensorflow as tf
from absl import logging

from warm_start_hooks import _api
from warm_start_hooks import _distribute
from warm_start_hooks import _errors
from warm_start_hooks import _report
from warm_start_hooks import _settings
from warm_start_hooks import _slots
from warm_start_hooks import _summary
from warm_start_hooks import _target
from warm_start_hooks import _variables

# Public class name -> (module whose `callbacks.Callback` it subclasses, pip package).
_FLAVOURS = {
    'WarmStartCallback': ('keras', 'keras'),
    'TfKerasWarmStartCallback': ('tf_keras', 'tf-keras'),
}
_OTHER = {
    'WarmStartCallback': 'TfKerasWarmStartCallback',
    'TfKerasWarmStartCallback': 'WarmStartCallback',
}
_classes: dict[str, type] = {}


class _WarmStartCallback:
    """Warm-starts a Keras model from a checkpoint when `fit` starts.

    The warm start runs at the beginning of the first epoch of `fit`: after
    every callback's `on_train_begin` (so a `BackupAndRestore` restore is seen
    wherever it sits in the callbacks list) and before the first training
    step. A model that `fit` builds itself (a subclassed model never called
    before) is built from the first batch's `element_spec`, then warm-started,
    still before its first step. Every problem is raised at once as a
    `WarmStartError`, and nothing was changed then.

    Resuming is never overwritten. The warm start is skipped, and `report`
    says why (`report.skipped_reason`), when:

      * `BackupAndRestore` restored a backup, before or after this callback
        in the list;
      * training starts at an epoch above 0 (`fit(initial_epoch=...)`, e.g.
        a reloaded model, or a restored backup);
      * the optimizer has already taken steps (a reloaded model with its
        optimizer, or a second `fit`);
      * a variable of the model was already warm-started, by this callback or
        by `warm_start_hooks.warm_start(..., variables=model)`.

    Under `MultiWorkerMirroredStrategy` (Keras 2: `tf.keras` on TensorFlow
    2.15, `tf_keras` later) every worker runs the callback: the chief reads
    and computes, and every worker assigns the same values (see
    `warm_start_hooks.warm_start`). The workers decide together: all skip
    (e.g. all restored the same `BackupAndRestore` backup) or none does, and
    if they disagree every worker raises. Keras 3's `fit` fails under this
    strategy before any callback runs (a limit of Keras 3); a Keras 3 model
    built under it is warm-started on every worker with
    `warm_start_hooks.warm_start(settings, variables=model)`.

    Variables are named as Keras names them: `variable.path` in Keras 3
    (e.g. `'sequential/dense/kernel'`), the variable name without `:0` in
    Keras 2 (e.g. `'dense/kernel'`). Settings may also give variables as
    objects (`vars_to_warm_start=[model.layers[0].kernel]`). A regex string
    selects among `model.trainable_variables`; `collection='all'` or a list of
    regexes also selects non-trainable ones, such as BatchNormalization's
    moving statistics.

    Sources: a TF2 object-based checkpoint (`tf.train.Checkpoint(model=m)`,
    Keras 2 `save_weights` in the TensorFlow format), matched by saved
    variable name and then by object path, so a model of the same structure
    warm-starts even when its layer names differ; a TF1 name-based
    checkpoint (an Estimator `model_dir`, a `tf.compat.v1.train.Saver`),
    mapped with `var_name_to_prev_var_name` or `rules`; a Keras
    `.weights.h5` file or `.keras` archive, matched by the layout Keras
    writes; a legacy HDF5 file (`model.save('x.h5')`, `save_weights('x.h5')`),
    matched by layer name; a KerasHub preset directory.

    Vocabularies: `StringLookup`, `IntegerLookup` and `TextVectorization` put
    their mask and OOV rows before the vocabulary, an Estimator column its
    OOV buckets after it. `VocabInfo.from_lookup(lookup, old_vocab)` (with
    `old_layout='estimator'` for an Estimator vocabulary) maps those rows
    too, so known and unknown tokens score as before; a tokenizer (KerasHub)
    is a vocabulary as it is: `VocabInfo(tokenizer, n, 0, old_tokenizer)`.
    A class head is remapped with `axis=1` on its kernel; its 1-D bias cannot
    be remapped (as in TensorFlow): keep it fresh with a `(regex, None)` rule.

    Part of a model: `target=` aims the warm start at a layer or sub-model,
    e.g. the backbone inside a KerasHub task model, whose weights a preset or
    an older model stored. The source is matched against that sub-model
    exactly as `warm_start(settings, variables=sub_model)` would (selection,
    object paths, `.weights.h5` layout), and the report names its variables
    as Keras does in the whole model (`variable.path` in Keras 3).

    TensorBoard: the report, or the reason the warm start was skipped, is
    written as text (`warm_start/report` and `warm_start/report_json`, at the
    optimizer's step) into an event file in `log_dir`, or, without `log_dir`,
    in the `log_dir` of a `TensorBoard` callback of the same `fit` (next to its
    `train/` and `validation/` runs).

    Attributes:
      settings: The `WarmStartSettings` in use.
      target: The `target` given.
      report: The `WarmStartReport` of the latest `fit`, or `None` before its
        first epoch. It is logged once (absl logging).

    Args:
      settings: A `WarmStartSettings`, a `tf.estimator.WarmStartSettings`, a
        dict of its fields, or a checkpoint path (warm-start every trainable
        variable).
      target: Keyword-only. The part of the model to warm-start: a layer
        name (`model.get_layer(name)`), or a callable taking the model and
        returning a layer or sub-model (`lambda m: m.backbone`). It is resolved
        when the warm start runs, on the built model. Defaults to `None` (the
        whole model).
      force: Keyword-only. Warm-start even when the model holds trained or
        restored state (see above); that state is then overwritten.
        Defaults to `False`.
      log_dir: Keyword-only. The directory to write the report to for
        TensorBoard; `None` means the `log_dir` of a `TensorBoard` callback in
        the same `fit`, if there is one. Defaults to `None`.
      write_summary: Keyword-only. Write the report for TensorBoard.
        Defaults to `True`.
      **overrides: Keyword-only `WarmStartSettings` fields to set on
        `settings` (`collection`, `rules`, `shape_policy`, ...).

    Raises:
      WarmStartError: The settings are invalid (listing every problem).
      FrameworkMissingError: The Keras package of this class is not installed.

    Example:
      ```python
      import keras
      import numpy as np
      import warm_start_hooks

      old = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name='head')])
      old.save_weights('/tmp/old.weights.h5')

      model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name='head')])
      model.compile('sgd', 'mse')
      callback = warm_start_hooks.WarmStartCallback('/tmp/old.weights.h5')
      model.fit(np.ones((8, 4)), np.ones((8, 2)), callbacks=[callback], verbose=0)
      print(callback.report)
      ```
    """

    _flavour = 'WarmStartCallback'

    def __init__(
        self,
        settings: Any,
        *,
        target: Any = None,
        force: bool = False,
        log_dir: str | os.PathLike | None = None,
        write_summary: bool = True,
        **overrides: Any,
    ):
        super().__init__()
        self.settings = _settings.coerce_settings(settings, **overrides)
        problems = self.settings.problems() + _summary.problems('log_dir', log_dir, write_summary)
        if target is not None and not (isinstance(target, str) or callable(target)):
            problems.append(
                'target must be a layer name or a callable taking the model and returning a '
                f'layer or sub-model, e.g. lambda m: m.backbone. Received: target={target!r}'
            )
        _errors.raise_if_problems(problems, f'{self._flavour} settings')
        self.target = target
        self.force = bool(force)
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self.write_summary = write_summary
        self._summary_dir: str | None = None
        self.report: _report.WarmStartReport | None = None
        self._pending = False
        self._installed: tuple[Any, Any, Any] | None = None

    # ---- Keras hooks ---------------------------------------------------
    def set_model(self, model: Any) -> None:
        if model is not None:
            _check_flavour(self._flavour, model)
        super().set_model(model)

    def on_train_begin(self, logs: Any = None) -> None:
        self._uninstall()
        self.report = None
        self._pending = True
        self._summary_dir = None
        if self.write_summary:
            tensorboard = _import(self._flavour).callbacks.TensorBoard
            self._summary_dir = self.log_dir or _summary.tensorboard_log_dir(self, tensorboard)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if not self._pending:
            return
        self._pending = False
        model = self.model
        reason = None if self.force else _resume_reason(model, epoch)
        # Across workers the decision to skip is taken together (see `_warm_start`).
        if reason and _fit_strategy(model) is None:
            self._skip(reason)
            return
        if _is_built(model):
            self._warm_start(model, reason)
        else:
            self._install(model, reason)

    def on_train_end(self, logs: Any = None) -> None:
        self._uninstall()
        self._pending = False

    # ---- work ----------------------------------------------------------
    def _warm_start(self, model: Any, reason: str | None = None) -> None:
        start = time.perf_counter()
        if not self.force and reason is None:
            done = _warm_started_variable(model)
            if done is not None:
                name, source = done
                reason = (
                    f'variable {name!r} of this model was already warm-started from '
                    f'{source!r} (by a WarmStartCallback or warm_start_hooks.warm_start); '
                    'its values were kept. Pass force=True to warm-start again.'
                )
        strategy = _api.multi_worker_strategy(model)
        if reason and strategy is None:
            self._skip(reason)
            return
        part = _target.resolve(model, self.target, self._flavour)
        variables = _with_optimizer(model, part) if self.settings.include_slots else part
        if strategy is not None:
            # MultiWorkerMirroredStrategy: every worker skips, or every worker assigns the
            # values the chief read; a worker that disagrees makes every worker raise.
            self.report = _api.warm_start_across_workers(
                self.settings, variables, strategy, skip_reason=reason, start=start
            )
            if strategy.extended.should_checkpoint:  # The chief writes, as Keras' own do.
                self._summarize()
            return
        plan = _api.make_plan(self.settings, variables=variables)
        self.report = _api.execute(plan, start)
        self._summarize()

    def _skip(self, reason: str) -> None:
        self.report = _report.WarmStartReport.skipped(
            str(self.settings.ckpt_to_initialize_from), reason
        )
        logging.info('%s', self.report.summary())
        self._summarize()

    def _summarize(self) -> None:
        """Writes the report to TensorBoard, at the optimizer's step."""
        if self.write_summary and self._summary_dir and self.report is not None:
            _summary.write(self.report, self._summary_dir, _optimizer_steps(self.model))

    def _install(self, model: Any, reason: str | None) -> None:
        """Warm-starts at the first train step, once `fit`'s data has built the model."""
        original = getattr(model, 'train_function', None)
        if original is None:
            raise _errors.WarmStartError(
                [
                    f'{self._flavour}: the model is not built and fit() made no train '
                    'function to build it with. Expected a built model; build it before fit(), '
                    'e.g. by calling it on a batch or with model.build(input_shape). '
                    f'Received: model={type(model).__name__}'
                ],
                'Keras warm start',
            )

        def first_train_step(iterator, *args, **kwargs):
            self._uninstall()
            if not _is_built(model):
                self._build(model, iterator)
            self._warm_start(model, reason)
            return original(iterator, *args, **kwargs)

        model.train_function = first_train_step
        self._installed = (model, original, first_train_step)

    def _uninstall(self) -> None:
        if self._installed is None:
            return
        model, original, wrapper = self._installed
        self._installed = None
        if getattr(model, 'train_function', None) is wrapper:
            model.train_function = original

    def _build(self, model: Any, iterator: Any) -> None:
        """Builds `model` by tracing its call on the spec of `fit`'s batches."""
        keras = _import(self._flavour)
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
                    f'{self._flavour}: the model was not built before fit(), and building it '
                    f'from the spec of the training batches failed ({type(e).__name__}: '
                    f'{_errors.first_line(e)}). Expected a model that can be called on one '
                    'batch of inputs; build it before fit(), e.g. by calling it on a batch. '
                    f'Received: element_spec={spec!r}'
                ],
                'Keras warm start',
            ) from e


def _with_optimizer(model: Any, part: Any = None) -> Any:
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


# ---- resume checks ---------------------------------------------------------


def _resume_reason(model: Any, epoch: int) -> str | None:
    """Why the model holds its own state and must not be warm-started, or None."""
    restored = _backup_restored(model)
    if restored:
        return restored
    if epoch > 0:
        return (
            f'training resumes at epoch {epoch} (fit(initial_epoch=...) or a restored backup), '
            'so the model holds its own trained state, which was kept. Pass force=True to '
            'warm-start anyway.'
        )
    steps = _optimizer_steps(model)
    if steps:
        return (
            f'the optimizer has already taken {steps} step(s): the model holds trained state '
            '(reloaded with its optimizer, restored, or trained by an earlier fit), which was '
            'kept. Pass force=True to warm-start anyway.'
        )
    return None


def _backup_restored(model: Any) -> str | None:
    """A reason if a `BackupAndRestore` callback restored a backup in this `fit`."""
    # Keras 3: BackupAndRestore.on_train_begin sets the epoch to resume from.
    epoch = getattr(model, '_initial_epoch', None)
    if epoch is not None:
        return (
            f'BackupAndRestore restored the training state (resuming at epoch {epoch}); the '
            'restored values were kept.'
        )
    # Keras 2: BackupAndRestore.on_train_begin restores through a CheckpointManager.
    state = getattr(model, '_training_state', None)
    manager = getattr(state, 'read_checkpoint_manager', None)
    latest = getattr(manager, 'latest_checkpoint', None)
    if latest:
        return (
            f'BackupAndRestore restored the training state from {latest!r}; the restored values '
            'were kept.'
        )
    return None


def _optimizer_steps(model: Any) -> int:
    iterations = getattr(getattr(model, 'optimizer', None), 'iterations', None)
    if iterations is None:
        return 0
    try:
        return int(iterations.numpy())
    except (AttributeError, TypeError, ValueError):
        return 0


def _warm_started_variable(model: Any) -> tuple[str, str] | None:
    """(name, source) of a model variable an eager warm start already assigned."""
    for v in model.variables:
        source = _api.warm_started_from(v)
        if source:
            return _variables.variable_name(v), source
    return None


def _fit_strategy(model: Any) -> Any:
    """The multi-worker strategy `fit` trains an unbuilt `model` under, or None."""
    strategy = getattr(model, 'distribute_strategy', None)
    return strategy if _distribute.is_multi_worker(strategy) else None


def _is_built(model: Any) -> bool:
    return bool(getattr(model, 'built', False)) and bool(model.variables)


# ---- flavours --------------------------------------------------------------


def _import(flavour: str):
    module, package = _FLAVOURS[flavour]
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise _errors.FrameworkMissingError(
            f'{flavour} needs the {module!r} package, which cannot be imported ({e}). Install '
            f'it (pip install {package}), or use {_OTHER[flavour]} for the other Keras. '
            f'Received: {flavour}'
        ) from e


def _check_flavour(flavour: str, model: Any) -> None:
    keras = _import(flavour)
    if isinstance(model, keras.Model):
        return
    other = _OTHER[flavour]
    module = type(model).__module__.split('.')[0]
    raise TypeError(
        f'{flavour} subclasses {keras.__name__}.callbacks.Callback, but the model is a '
        f'{module} model ({type(model).__name__}); a model trains only with callbacks of its '
        f'own Keras. Expected a {keras.__name__}.Model. Use warm_start_hooks.keras.{other} '
        f'for this model. Received: model={type(model).__module__}.{type(model).__name__}'
    )


def _callback_class(flavour: str) -> type:
    if flavour not in _classes:
        keras = _import(flavour)
        _classes[flavour] = type(
            flavour,
            (_WarmStartCallback, keras.callbacks.Callback),
            {
                '__doc__': _WarmStartCallback.__doc__,
                '__module__': __name__,
                '__qualname__': flavour,
                '_flavour': flavour,
            },
        )
    return _classes[flavour]


def __getattr__(name: str) -> type:
    # The callback classes subclass a Keras class, so they are made on first use.
    if name in _FLAVOURS:
        return _callback_class(name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
