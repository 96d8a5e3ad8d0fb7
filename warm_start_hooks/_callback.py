"""The warm start behind `WarmStartCallback` and `TfKerasWarmStartCallback`.

Do not import this module directly; use `import warm_start_hooks` or
`warm_start_hooks.keras` instead.

`WarmStartCallbackBase` holds the callback's work; `warm_start_hooks.keras`
combines it with the `Callback` class of each Keras flavour on first use.
"""

from __future__ import annotations

import os
import time
from typing import Any

from absl import logging

from warm_start_hooks import _api
from warm_start_hooks import _coerce
from warm_start_hooks import _errors
from warm_start_hooks import _keras_build
from warm_start_hooks import _keras_flavours
from warm_start_hooks import _keras_resume
from warm_start_hooks import _report
from warm_start_hooks import _summary
from warm_start_hooks import _target


class WarmStartCallbackBase:
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
    # Set by the Keras `Callback` this class is mixed into (see `set_model`).
    model: Any

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
        self.settings = _coerce.coerce_settings(settings, **overrides)
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
            _keras_flavours.check_flavour(self._flavour, model)
        super().set_model(model)  # type: ignore[misc]  # The Keras Callback mixed in after it.

    def on_train_begin(self, logs: Any = None) -> None:
        self._uninstall()
        self.report = None
        self._pending = True
        self._summary_dir = None
        if self.write_summary:
            tensorboard = _keras_flavours.import_keras(self._flavour).callbacks.TensorBoard
            self._summary_dir = self.log_dir or _summary.tensorboard_log_dir(self, tensorboard)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if not self._pending:
            return
        self._pending = False
        model = self.model
        reason = None if self.force else _keras_resume.resume_reason(model, epoch)
        # Across workers the decision to skip is taken together (see `_warm_start`).
        if reason and _keras_resume.fit_strategy(model) is None:
            self._skip(reason)
            return
        if _keras_build.is_built(model):
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
            done = _keras_resume.warm_started_variable(model)
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
        variables = (
            _keras_build.with_optimizer(model, part) if self.settings.include_slots else part
        )
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
            _summary.write(
                self.report, self._summary_dir, _keras_resume.optimizer_steps(self.model)
            )

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

        def first_train_step(iterator: Any, *args: Any, **kwargs: Any) -> Any:
            self._uninstall()
            if not _keras_build.is_built(model):
                _keras_build.build(model, iterator, self._flavour)
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
