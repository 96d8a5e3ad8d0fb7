"""Estimator and `MonitoredTrainingSession` integration: `WarmStartHook`.

`WarmStartHook` is a `tf.compat.v1.train.SessionRunHook`, so it works with
`tf.estimator` (TensorFlow <= 2.15 with tensorflow-estimator) and with a plain
`tf.compat.v1.train.MonitoredTrainingSession` on any TensorFlow 2 release.
`with_warm_start` and `warm_started_estimator` put it into an Estimator, where
it replaces `warm_start_from=`; they import `tf.estimator` only when called.

A warm start never overwrites a model that resumes from its own checkpoint:
the hook overrides variable initializers, and a session runs initializers
only when it restores no checkpoint (TensorFlow issue #18696 is about code
that assigns instead).
"""

from __future__ import annotations

import inspect
import os
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

import tensorflow as tf
from absl import logging

from warm_start_hooks import _api
from warm_start_hooks import _apply
from warm_start_hooks import _distribute
from warm_start_hooks import _errors
from warm_start_hooks import _estimator_settings
from warm_start_hooks import _export
from warm_start_hooks import _plan
from warm_start_hooks import _provenance
from warm_start_hooks import _report
from warm_start_hooks import _settings
from warm_start_hooks import _summary

# tf.estimator.ModeKeys values, spelled out so this module imports without tf.estimator.
TRAIN = 'train'
EVAL = 'eval'
PREDICT = 'infer'
_SPEC_HOOKS = {TRAIN: 'training_hooks', EVAL: 'evaluation_hooks', PREDICT: 'prediction_hooks'}

_NOT_RUN = (
    'the session restored a checkpoint, so the warm-start initializers did not run and the '
    'restored values were kept (the model resumed from its own checkpoint; on a non-chief '
    'worker, the chief initialized the variables)'
)


class WarmStartHook(tf.compat.v1.train.SessionRunHook):
    """Warm-starts a graph-mode model when its session is created.

    In `begin()`, after the model is built and before the `Scaffold` is
    finalized, the hook plans the warm start (every problem is raised at once
    as a `WarmStartError`, before a session exists and with nothing changed)
    and overrides the initializers of the selected variables. A session runs
    those initializers only when it restores no checkpoint, so a model that
    resumes from its own checkpoint keeps its values, as with Estimator's
    `warm_start_from`. `self.report` then says what happened; it is logged
    once per run.

    Whether the warm start ran is found out, not guessed: `begin()` adds an
    unsaved marker variable whose initializer runs together with the
    overridden initializers, and `after_create_session()` checks whether the
    marker was initialized. When `model_dir` is given and already holds a
    checkpoint in `begin()`, the warm start is not planned at all (as
    Estimator does), so a resumed run does not need the source checkpoint.

    In a cluster (Estimator `train_and_evaluate`, `MonitoredTrainingSession`
    on several tasks) only the chief initializes the shared variables, so only
    the chief plans and reads: on any other task `begin()` reads no checkpoint
    or vocabulary and the report says why it skipped. `is_chief` says which
    task this is; by default TF_CONFIG does (see below). Should a task taken
    for a non-chief initialize the variables after all, `after_create_session`
    raises instead of training on values that were not warm-started.

    The report, or the reason the warm start was skipped, is also written to
    TensorBoard as text (`warm_start/report` and `warm_start/report_json`, at
    the session's global step) through the event-file writer that the
    session's own summaries use in `summary_dir` (by default `model_dir`), so
    it sits in the same event file as the training curves.

    With an Estimator, the hook also works in `evaluate(hooks=...)` and
    `predict(hooks=...)`: as with `warm_start_from`, those warm-start only when
    no checkpoint is restored (a model directory without checkpoints, and no
    `checkpoint_path`). Every call builds a new graph, so one hook instance
    may be reused; `report` describes the latest run.

    Args:
      settings: A `WarmStartSettings`, a `tf.estimator.WarmStartSettings`, a
        dict of `WarmStartSettings` fields, or a checkpoint or SavedModel path
        (str, bytes or `os.PathLike`; warm-start every trainable variable).
      model_dir: Keyword-only. The directory the session restores the model
        from (the Estimator's `model_dir`, `MonitoredTrainingSession`'s
        `checkpoint_dir`). If it holds a checkpoint in `begin()`, nothing is
        planned and the report names that checkpoint. Defaults to `None`.
      log_report: Keyword-only. Log the report through absl logging.
        Defaults to `True`.
      is_chief: Keyword-only. Whether this task's session initializes the
        variables: pass what you pass to `MonitoredTrainingSession(is_chief=)`.
        `None` reads TF_CONFIG: its `chief` task (or, without one, `worker` 0)
        and an `evaluator` are chiefs, other tasks are not, and without
        TF_CONFIG this task is the chief. Defaults to `None`.
      summary_dir: Keyword-only. Where to write the report for TensorBoard;
        `None` means `model_dir` (and nothing is written when that is `None`
        too). `MonitoredTrainingSession` writes its summaries to its
        `summary_dir`, which defaults to its `checkpoint_dir`. Defaults to
        `None`.
      write_summary: Keyword-only. Write the report for TensorBoard (only
        the chief writes it; see `is_chief`). Defaults to `True`.

    Raises:
      WarmStartError: The settings are invalid (listing every problem).

    Example:
      ```python
      import numpy as np
      import tensorflow as tf
      import warm_start_hooks

      with tf.Graph().as_default():  # An old model, saved in source/.
          w = tf.compat.v1.get_variable('w', [2], initializer=tf.ones_initializer())
          with tf.compat.v1.Session() as sess:
              sess.run(tf.compat.v1.global_variables_initializer())
              tf.compat.v1.train.Saver().save(sess, 'source/model.ckpt')

      with tf.Graph().as_default():  # The new model starts from it.
          w = tf.compat.v1.get_variable('w', [2], initializer=tf.zeros_initializer())
          tf.compat.v1.train.get_or_create_global_step()
          hook = warm_start_hooks.WarmStartHook('source', model_dir='new_model')
          with tf.compat.v1.train.MonitoredTrainingSession(
              checkpoint_dir='new_model', hooks=[hook]
          ) as sess:
              np.testing.assert_array_equal(sess.run(w), [1.0, 1.0])
      print(hook.report.summary())
      ```
    """

    def __init__(
        self,
        settings: Any,
        *,
        model_dir: str | os.PathLike | None = None,
        log_report: bool = True,
        is_chief: bool | None = None,
        summary_dir: str | os.PathLike | None = None,
        write_summary: bool = True,
    ):
        problems = []
        self._settings = None
        try:
            self._settings = _settings.coerce_settings(settings)
        except _errors.WarmStartError as e:
            problems.extend(e.problems)
        if self._settings is not None:
            problems.extend(self._settings.problems())
        if isinstance(model_dir, bytes):
            try:
                model_dir = model_dir.decode('utf-8')
            except UnicodeDecodeError:
                pass  # Reported below.
        if model_dir is not None and (
            not isinstance(model_dir, (str, os.PathLike)) or not os.fspath(model_dir)
        ):
            problems.append(
                'model_dir must be a non-empty directory path (str, UTF-8 bytes or '
                f'os.PathLike) or None. Received: model_dir={model_dir!r}'
            )
        if not isinstance(log_report, bool):
            problems.append(
                f'log_report must be True or False. Received: log_report={log_report!r}'
            )
        if is_chief is not None and not isinstance(is_chief, bool):
            problems.append(
                f'is_chief must be True, False or None. Received: is_chief={is_chief!r}'
            )
        problems.extend(_summary.problems('summary_dir', summary_dir, write_summary))
        _errors.raise_if_problems(problems, 'WarmStartHook')
        self._model_dir = None if model_dir is None else os.fspath(model_dir)
        self._log_report = log_report
        self._is_chief = is_chief
        self._summary_dir = self._model_dir if summary_dir is None else os.fspath(summary_dir)
        self._write_summary = write_summary
        self.report: _report.WarmStartReport | None = None
        self._reset()

    @property
    def settings(self) -> _settings.WarmStartSettings:
        """The settings, as `WarmStartSettings`."""
        return self._settings

    def _reset(self) -> None:
        self._plan = None
        self._own_checkpoint = None
        self._applied_check = None
        self._seconds = 0.0
        self._decided = False
        self._not_chief = None

    def begin(self) -> None:
        """Plans the warm start and overrides the selected variables' initializers.

        Raises:
          WarmStartError: Planning found problems (all listed); nothing changed.
          ApplyError: Building the warm-start ops failed; nothing changed.
        """
        self._reset()
        self.report = None
        start = time.perf_counter()
        try:
            role = _distribute.task_role(self._is_chief)
        except ValueError as e:
            raise _errors.WarmStartError([str(e)], 'WarmStartHook') from None
        if not role.is_chief:
            # The chief initializes the shared variables; nothing here would be used.
            self._not_chief = role
            self._applied_check = _add_marker(tf.compat.v1.global_variables()[:1])
            return
        if self._model_dir is not None:
            self._own_checkpoint = tf.train.latest_checkpoint(self._model_dir)
            if self._own_checkpoint:
                return
        plan = _api.make_plan(self._settings)
        if not plan.graph:
            raise _errors.WarmStartError(
                [
                    'WarmStartHook runs in graph mode (Estimator, MonitoredTrainingSession); '
                    'the variables it found are eager. Use warm_start_hooks.warm_start(..., '
                    'variables=model) or WarmStartCallback for Keras. '
                    f'Received: settings={self._settings.ckpt_to_initialize_from!r}'
                ],
                'WarmStartHook',
            )
        _apply.apply(plan)
        self._applied_check = _add_marker(
            [
                part.variable
                for entry in plan.entries
                if entry.action != _plan.SKIP
                for part in plan.targets[entry.id].parts
            ]
        )
        self._plan = plan
        self._seconds = time.perf_counter() - start

    def after_create_session(self, session: tf.compat.v1.Session, coord: Any) -> None:
        """Records in `report` whether the warm start ran, and logs it once."""
        del coord  # Unused.
        if self._decided:
            return  # A recovered session; the first one decided.
        self._decided = True
        source = os.fspath(self._settings.ckpt_to_initialize_from)
        if self._not_chief is not None:
            self.report = _not_chief_report(self._not_chief, source, session, self._applied_check)
        elif self._own_checkpoint:
            self.report = _report.WarmStartReport.skipped(
                source, f'the model restored its own checkpoint {self._own_checkpoint}'
            )
        elif self._plan is not None:
            ran = self._applied_check is None or bool(session.run(self._applied_check))
            if ran:
                self.report = _report.WarmStartReport.from_plan(
                    self._plan, applied=True, seconds=self._seconds
                )
                if self._settings.provenance_dir:
                    _provenance.write(
                        self._settings.provenance_dir,
                        self.report,
                        self._plan.source.fingerprint(),
                    )
            else:
                self.report = _report.WarmStartReport.skipped(self._plan.source.prefix, _NOT_RUN)
        if self._log_report and self.report is not None:
            self.report.log()
        self._summarize(session)

    def _summarize(self, session: tf.compat.v1.Session) -> None:
        """Writes the report to TensorBoard, at the session's global step."""
        if not self._write_summary or self._summary_dir is None or self.report is None:
            return
        if self._not_chief is not None:
            return  # The chief writes it; other tasks would write beside its curves.
        global_step = tf.compat.v1.train.get_global_step()
        step = 0 if global_step is None else int(session.run(global_step))
        _summary.write(self.report, self._summary_dir, step)


def _not_chief_report(role, source, session, initialized) -> _report.WarmStartReport:
    """The report of a task that left the warm start to the chief.

    Raises:
      WarmStartError: This task's session initialized the variables after all.
    """
    if initialized is not None and bool(session.run(initialized)):
        raise _errors.WarmStartError(
            [
                f'this task, {role.describe()}, was taken for a non-chief and did not '
                'warm-start, but its session initialized the variables: it is the chief, and its '
                'model was not warm-started. Pass is_chief=True to WarmStartHook on the task that '
                'initializes the variables (the one given MonitoredTrainingSession(is_chief=True)'
                f'). Received: is_chief={role.is_chief}'
            ],
            'WarmStartHook',
        )
    return _report.WarmStartReport.skipped(
        source,
        f'this task, {role.describe()}, is not the chief: the chief initializes the shared '
        "variables and warm-starts them, and this task's session uses them; this task read no "
        'checkpoint or vocabulary',
    )


def _add_marker(variables: list[Any]) -> tf.Tensor | None:
    """Ties an unsaved marker variable to the initializers of `variables`.

    Returns a tensor that is true in a session exactly when those
    initializers ran, or None when there are no variables.
    """
    if not variables:
        return None
    first = variables[0]
    # A container of its own: a parameter server outlives the chief's sessions, so
    # a marker shared by name would still be initialized from an earlier run. Not
    # colocated with `first`: a MirroredVariable has no handle outside a replica.
    container = f'warm_start_{uuid.uuid4().hex}'
    with first.graph.as_default(), tf.compat.v1.container(container):
        # In no collection: never saved, restored or checked by a Scaffold.
        marker = tf.compat.v1.Variable(
            1.0, trainable=False, collections=[], name='warm_start_applied', use_resource=True
        )
        check = tf.compat.v1.is_variable_initialized(marker)
    for variable in variables:
        with first.graph.as_default():
            variable._initializer_op = tf.group(  # pylint: disable=protected-access
                variable.initializer, marker.initializer
            )
    return check


# ---- Estimator helpers -----------------------------------------------------


def _tf_estimator(received: str) -> Any:
    """Returns `tf.estimator`, or raises `FrameworkMissingError`."""
    try:
        module = tf.estimator
        module.Estimator  # noqa: B018  (the lazy loader imports here)
    except (AttributeError, ImportError):
        raise _errors.FrameworkMissingError(
            'tf.estimator needs TensorFlow <= 2.15 and tensorflow-estimator; found TensorFlow '
            f'{tf.__version__} without it. Use WarmStartHook with '
            'tf.compat.v1.train.MonitoredTrainingSession, or WarmStartCallback for Keras. '
            f'Received: {received}'
        ) from None
    return module


def _check_modes(modes: Iterable[str]) -> tuple[tuple[str, ...], list[str]]:
    if isinstance(modes, str):
        modes = (modes,)
    modes = tuple(modes) if isinstance(modes, (list, tuple, set, frozenset)) else (modes,)
    bad = [m for m in modes if not isinstance(m, str) or m not in _SPEC_HOOKS]
    if bad or not modes:
        return modes, [
            "modes must hold tf.estimator.ModeKeys values ('train', 'eval', 'infer'). "
            f'Received: modes={modes!r}'
        ]
    return modes, []


class WarmStartModelFn:
    """An Estimator `model_fn` that adds a `WarmStartHook` to its `EstimatorSpec`.

    Made by `with_warm_start`. It takes the arguments an Estimator passes
    (`features`, `labels`, `mode`, `params`, `config`) and gives the wrapped
    `model_fn` those that it accepts.

    Attributes:
      model_fn: The wrapped `model_fn`.
      settings: The `WarmStartSettings`.
      modes: The modes whose spec gets the hook.
    """

    def __init__(
        self,
        model_fn: Callable[..., Any],
        settings: _settings.WarmStartSettings,
        modes: tuple[str, ...],
        log_report: bool,
    ):
        self.model_fn = model_fn
        self.settings = settings
        self.modes = modes
        self._log_report = log_report
        self._args = set(inspect.signature(model_fn).parameters)
        self._last_hook: WarmStartHook | None = None

    @property
    def report(self) -> _report.WarmStartReport | None:
        """The report of the latest session that used this `model_fn`."""
        return None if self._last_hook is None else self._last_hook.report

    def __call__(self, features, labels, mode, params, config):
        kwargs = {}
        if 'labels' in self._args:
            kwargs['labels'] = labels
        elif labels is not None:
            raise ValueError('model_fn does not take labels, but input_fn returns labels.')
        for name, value in (('mode', mode), ('params', params), ('config', config)):
            if name in self._args:
                kwargs[name] = value
        spec = self.model_fn(features=features, **kwargs)
        if mode not in self.modes:
            return spec
        model_dir = getattr(config, 'model_dir', None)
        # Training shares the variables of a cluster, which its chief initializes;
        # evaluation and prediction initialize their own, on every task. TensorBoard
        # shows the report next to the training curves: only the chief's training writes it.
        is_chief = getattr(config, 'is_chief', None) if mode == TRAIN else True
        hook = WarmStartHook(
            self.settings,
            model_dir=model_dir,
            log_report=self._log_report,
            is_chief=is_chief,
            write_summary=bool(mode == TRAIN and is_chief is not False),
        )
        self._last_hook = hook
        field = _SPEC_HOOKS[mode]
        return spec._replace(**{field: (*(getattr(spec, field) or ()), hook)})


def with_warm_start(
    model_fn: Callable[..., Any],
    settings: Any,
    *,
    modes: Iterable[str] = (TRAIN, EVAL, PREDICT),
    log_report: bool = True,
) -> WarmStartModelFn:
    """Wraps an Estimator `model_fn` so that it warm-starts through `WarmStartHook`.

    `tf.estimator.Estimator(with_warm_start(model_fn, ws), model_dir)` does
    what `tf.estimator.Estimator(model_fn, model_dir, warm_start_from=ws)`
    does: `train`, `evaluate` and `predict` warm-start when they restore no
    checkpoint, and a model that resumes from its own checkpoint keeps it.
    Every option of `WarmStartSettings` is available, and every problem is
    reported before the session starts.

    Args:
      model_fn: An Estimator `model_fn`.
      settings: A `WarmStartSettings`, a `tf.estimator.WarmStartSettings`, a
        dict of fields, or a checkpoint or SavedModel path (str, bytes, such as
        `export_saved_model()` returns, or `os.PathLike`).
      modes: Keyword-only. The `tf.estimator.ModeKeys` that warm-start.
        Defaults to `('train', 'eval', 'infer')`, as `warm_start_from`.
      log_report: Keyword-only. Log each run's report. Defaults to `True`.

    Returns:
      A `WarmStartModelFn`; its `report` is the latest run's report. An
      Estimator built on it cannot export before its first checkpoint
      (Estimator raises "Couldn't find trained model"); `warm_started_estimator`
      can.

    Raises:
      FrameworkMissingError: `tf.estimator` is not available.
      WarmStartError: The settings or modes are invalid (all problems listed).

    Example:
      ```python
      import tensorflow as tf  # TensorFlow 2.15 with tensorflow-estimator.
      import warm_start_hooks.estimator

      def model_fn(features, labels, mode):
          y = tf.compat.v1.layers.dense(features['x'], 1)
          loss = tf.compat.v1.losses.mean_squared_error(labels, y)
          train_op = tf.compat.v1.train.AdamOptimizer().minimize(
              loss, tf.compat.v1.train.get_global_step())
          return tf.estimator.EstimatorSpec(mode, {'y': y}, loss, train_op)

      def input_fn():
          data = ({'x': [[1.0], [2.0]]}, [[1.0], [2.0]])
          return tf.data.Dataset.from_tensor_slices(data).batch(2).repeat()

      tf.estimator.Estimator(model_fn, 'old_model').train(input_fn, max_steps=5)
      fn = warm_start_hooks.estimator.with_warm_start(model_fn, 'old_model')
      estimator = tf.estimator.Estimator(fn, 'new_model')
      estimator.train(input_fn, max_steps=10)
      print(fn.report.summary())  # Warm-started 2 variable(s) from old_model/model.ckpt-5 ...
      ```
    """
    _tf_estimator(f'model_fn={getattr(model_fn, "__name__", type(model_fn).__name__)}')
    problems = []
    if not callable(model_fn):
        problems.append(f'model_fn must be callable. Received: model_fn={model_fn!r}')
    modes, mode_problems = _check_modes(modes)
    problems.extend(mode_problems)
    try:
        hook = WarmStartHook(settings, log_report=log_report)
    except _errors.WarmStartError as e:
        problems.extend(e.problems)
        hook = None
    _errors.raise_if_problems(problems, 'with_warm_start')
    return WarmStartModelFn(model_fn, hook.settings, modes, log_report)


def warm_started_estimator(
    estimator: Any,
    settings: Any,
    *,
    modes: Iterable[str] = (TRAIN, EVAL, PREDICT),
    log_report: bool = True,
) -> Any:
    """Returns an Estimator that is `estimator` warm-started from `settings`.

    The canonical replacement for `warm_start_from=`, for canned Estimators
    (`DNNClassifier`, `LinearClassifier`, `DNNLinearCombinedClassifier`, ...)
    and custom ones alike: build the Estimator without `warm_start_from`, then
    wrap it. The result is a `tf.estimator.Estimator` (a subclass of it) with
    the same `model_fn`, `model_dir`, `config` and `params`, whose
    `EstimatorSpec`s carry a `WarmStartHook` (see `with_warm_start`). It is
    not an instance of the canned class, but trains, evaluates and predicts
    the same.

    Exports (`export_saved_model` and the others) made before `model_dir`
    holds a checkpoint, without `checkpoint_path`, export the values training
    would start from: the initial values with the warm start applied, as
    `predict()` and `evaluate()` see them. For the variables the settings
    select, these are the values `warm_start_from` gives; the others keep
    their initial values and `global_step` is 0. (TensorFlow's export with
    `warm_start_from` restores the source checkpoint as it is instead: the
    same values for plain copies, but no renames or vocabulary remaps, the
    source's `global_step`, and an error if the source lacks a variable.)
    Once there is a checkpoint, exporting is Estimator's own.

    Args:
      estimator: A `tf.estimator.Estimator` built without `warm_start_from`.
      settings: A `WarmStartSettings`, a `tf.estimator.WarmStartSettings`, a
        dict of fields, or a checkpoint or SavedModel path (str, bytes, such as
        `export_saved_model()` returns, or `os.PathLike`).
      modes: Keyword-only. The `tf.estimator.ModeKeys` that warm-start.
        Defaults to `('train', 'eval', 'infer')`, as `warm_start_from`.
      log_report: Keyword-only. Log each run's report. Defaults to `True`.

    Returns:
      A `tf.estimator.Estimator`.

    Raises:
      FrameworkMissingError: `tf.estimator` is not available.
      WarmStartError: Invalid settings, or `estimator` is not an Estimator or
        already has `warm_start_from` (all problems listed). Planning problems
        are raised by `train`, `evaluate`, `predict` and exports; a missing
        checkpoint as `CheckpointNotFoundError`, also a
        `tf.errors.NotFoundError` as with `warm_start_from`.

    Example:
      ```python
      import tensorflow as tf  # TensorFlow 2.15 with tensorflow-estimator.
      import warm_start_hooks
      import warm_start_hooks.estimator

      with open('old_vocab.txt', 'w') as f:
          f.write('doctor\nlawyer\nconsultant\n')
      with open('new_vocab.txt', 'w') as f:
          f.write('doctor\nconsultant\nengineer\nlawyer\n')

      def columns(vocab, size):
          occupation = tf.feature_column.categorical_column_with_vocabulary_file(
              'occupation', vocab, vocabulary_size=size)
          return [tf.feature_column.embedding_column(occupation, dimension=4)]

      def input_fn():
          features = {'occupation': [['doctor'], ['consultant'], ['lawyer']]}
          return tf.data.Dataset.from_tensor_slices((features, [[0], [1], [1]])).batch(3)

      old = tf.estimator.DNNClassifier([8], columns('old_vocab.txt', 3), model_dir='old_model')
      old.train(input_fn, max_steps=10)

      embedding = (
          'dnn/input_from_feature_columns/input_layer/occupation_embedding/embedding_weights')
      settings = warm_start_hooks.WarmStartSettings(
          'old_model',
          vars_to_warm_start='.*',
          var_name_to_vocab_info={
              embedding: warm_start_hooks.VocabInfo('new_vocab.txt', 4, 0, 'old_vocab.txt')
          },
      )
      new = warm_start_hooks.estimator.warm_started_estimator(
          tf.estimator.DNNClassifier([8], columns('new_vocab.txt', 4), model_dir='new_model'),
          settings,
      )
      new.train(input_fn, max_steps=20)  # Warm-started from old_model; rows remapped.
      new.train(input_fn, max_steps=30)  # Resumes from new_model; no second warm start.
      ```
    """
    module = _tf_estimator(f'estimator={type(estimator).__name__}')
    problems = []
    v1 = tf.compat.v1.estimator.Estimator
    if isinstance(estimator, module.Estimator):
        cls = module.Estimator
    elif isinstance(estimator, v1):
        cls = v1
    else:
        cls = None
        problems.append(
            'estimator must be a tf.estimator.Estimator (canned or custom). '
            f'Received: estimator={type(estimator).__name__}'
        )
    # Estimator keeps warm_start_from here; two warm starts would race.
    if cls is not None and getattr(estimator, '_warm_start_settings', None) is not None:
        problems.append(
            'estimator already has warm_start_from; it would warm-start a second time. Build '
            'it without warm_start_from and pass those settings here. Received: '
            f'warm_start_from={estimator._warm_start_settings!r}'  # pylint: disable=protected-access
        )
    try:
        model_fn = with_warm_start(
            estimator.model_fn if cls is not None else (lambda features: None),
            settings,
            modes=modes,
            log_report=log_report,
        )
    except _errors.WarmStartError as e:
        problems.extend(e.problems)
    _errors.raise_if_problems(problems, 'warm_started_estimator')
    logging.info('Warm-starting %s through WarmStartHook.', type(estimator).__name__)
    out = _export.exporting_class(cls)(
        model_fn=model_fn, config=estimator.config, params=estimator.params or None
    )
    out._warm_start_model_fn = model_fn  # pylint: disable=protected-access
    return out


def tf_warm_start_settings(settings: Any) -> Any:
    """Returns TensorFlow's `tf.estimator.WarmStartSettings` for `warm_start_from=`.

    `tf.estimator.Estimator(..., warm_start_from=...)` accepts only
    TensorFlow's own settings type: given this library's `WarmStartSettings`
    it raises `ValueError: warm_start_from must be a string or a
    WarmStartSettings`, and it applies what it accepts with
    `tf.compat.v1.train.warm_start`. This converts settings that TensorFlow
    applies exactly as this library does, so the Estimator (a canned class
    stays its class) warm-starts to the same values as with
    `warm_started_estimator`. Everything else is refused, every reason
    listed, rather than dropped: the keyword-only options (`rules`,
    policies, `include_slots`, ...), `VocabInfo`s with `new_row_init`, a
    `backup_initializer` (TensorFlow calls it with another shape), in-memory
    vocabularies or `old_vocab_size` on axis 1, a list selection whose regex
    matches `global_step`, and object-based checkpoints. Use
    `warm_started_estimator` for those; it also gives a report, one error
    listing every problem, and a TensorBoard summary.

    The checkpoint is read (its index only) to check its kind, so it must
    exist when this is called.

    Args:
      settings: A `WarmStartSettings`, a dict of its fields or a checkpoint
        path.

    Returns:
      A `tf.estimator.WarmStartSettings`.

    Raises:
      FrameworkMissingError: `tf.estimator` is not available.
      WarmStartError: The settings are invalid or cannot be applied by
        TensorFlow as they are here (all problems listed).

    Example:
      ```python
      settings = warm_start_hooks.WarmStartSettings(
          'old_model',
          vars_to_warm_start='.*',
          var_name_to_vocab_info={embedding: warm_start_hooks.VocabInfo(
              'new_vocab.txt', 4, 0, 'old_vocab.txt')},
      )
      estimator = tf.estimator.DNNClassifier(
          [8], columns, model_dir='new_model',
          warm_start_from=warm_start_hooks.estimator.tf_warm_start_settings(settings),
      )
      ```
    """
    module = _tf_estimator(f'settings={type(settings).__name__}')
    return _estimator_settings.convert(settings, module)
