"""`WarmStartHook`: a `SessionRunHook` that warm-starts a graph-mode model.

Do not import this module directly; use `import warm_start_hooks` or
`warm_start_hooks.estimator` instead.

The hook needs no Estimator: it works in any `MonitoredTrainingSession`, on
every TensorFlow 2 release. A warm start never overwrites a model that
resumes from its own checkpoint: the hook overrides variable initializers,
and a session runs initializers only when it restores no checkpoint.
"""

from __future__ import annotations

import os
import time
from typing import Any

import tensorflow as tf

from warm_start_hooks import _api
from warm_start_hooks import _apply
from warm_start_hooks import _coerce
from warm_start_hooks import _distribute
from warm_start_hooks import _errors
from warm_start_hooks import _hook_outcome
from warm_start_hooks import _plan
from warm_start_hooks import _provenance
from warm_start_hooks import _report
from warm_start_hooks import _settings
from warm_start_hooks import _summary


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
        problems: list[str] = []
        parsed = None
        try:
            parsed = _coerce.coerce_settings(settings)
        except _errors.WarmStartError as e:
            problems.extend(e.problems)
        if parsed is not None:
            problems.extend(parsed.problems())
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
        if parsed is None:  # Not reached: why the settings could not be read was raised above.
            raise _errors.WarmStartError(['settings could not be read.'], 'WarmStartHook')
        self._settings = parsed
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
        self._plan: _plan.Plan | None = None
        self._own_checkpoint: str | None = None
        self._applied_check: Any = None
        self._seconds = 0.0
        self._decided = False
        self._not_chief: _distribute.TaskRole | None = None

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
            self._applied_check = _hook_outcome.add_marker(tf.compat.v1.global_variables()[:1])
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
        self._applied_check = _hook_outcome.add_marker(
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
        source = os.fsdecode(self._settings.ckpt_to_initialize_from)
        if self._not_chief is not None:
            self.report = _hook_outcome.not_chief_report(
                self._not_chief, source, session, self._applied_check
            )
        elif self._own_checkpoint:
            self.report = _hook_outcome.restored_own_report(source, self._own_checkpoint)
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
                self.report = _hook_outcome.not_run_report(self._plan.source.prefix)
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


# Its public home, as reprs and pickles name it.
WarmStartHook.__module__ = 'warm_start_hooks.estimator'
