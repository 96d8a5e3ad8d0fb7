"""Estimator integration: a `model_fn` whose specs carry a `WarmStartHook`.

Do not import this module directly; use `warm_start_hooks.estimator` instead.

`with_warm_start` wraps a `model_fn`, and `warm_started_estimator` rebuilds
an Estimator (canned or custom) on the wrapped `model_fn`; together they
replace `warm_start_from=`. Both import `tf.estimator` only when called.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

import tensorflow as tf
from absl import logging

from warm_start_hooks import _errors
from warm_start_hooks import _export
from warm_start_hooks import _hook
from warm_start_hooks import _report
from warm_start_hooks import _settings

# tf.estimator.ModeKeys values, spelled out so this module imports without tf.estimator.
TRAIN = 'train'
EVAL = 'eval'
PREDICT = 'infer'
_SPEC_HOOKS = {TRAIN: 'training_hooks', EVAL: 'evaluation_hooks', PREDICT: 'prediction_hooks'}


def tf_estimator(received: str) -> Any:
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


def _check_modes(given: Any) -> tuple[tuple[str, ...], list[str]]:
    modes = tuple(given) if isinstance(given, (list, tuple, set, frozenset)) else (given,)
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
        self._last_hook: _hook.WarmStartHook | None = None

    @property
    def report(self) -> _report.WarmStartReport | None:
        """The report of the latest session that used this `model_fn`."""
        return None if self._last_hook is None else self._last_hook.report

    def __call__(self, features: Any, labels: Any, mode: Any, params: Any, config: Any) -> Any:
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
        hook = _hook.WarmStartHook(
            self.settings,
            model_dir=model_dir,
            log_report=self._log_report,
            is_chief=is_chief,
            write_summary=bool(mode == TRAIN and is_chief is not False),
        )
        self._last_hook = hook
        field = _SPEC_HOOKS[mode]
        return spec._replace(**{field: (*(getattr(spec, field) or ()), hook)})


# Its public home, as reprs and pickles name it.
WarmStartModelFn.__module__ = 'warm_start_hooks.estimator'


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
    tf_estimator(f'model_fn={getattr(model_fn, "__name__", type(model_fn).__name__)}')
    problems = []
    if not callable(model_fn):
        problems.append(f'model_fn must be callable. Received: model_fn={model_fn!r}')
    modes, mode_problems = _check_modes(modes)
    problems.extend(mode_problems)
    try:
        hook = _hook.WarmStartHook(settings, log_report=log_report)
    except _errors.WarmStartError as e:
        problems.extend(e.problems)
        hook = None
    _errors.raise_if_problems(problems, 'with_warm_start')
    if hook is None:  # Not reached: why the settings could not be read was raised above.
        raise _errors.WarmStartError(['settings could not be read.'], 'with_warm_start')
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
    module = tf_estimator(f'estimator={type(estimator).__name__}')
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
