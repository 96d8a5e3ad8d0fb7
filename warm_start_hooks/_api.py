"""The core entry points: `warm_start`, `plan` and `init_from_checkpoint`.

Do not import this module directly; use `import warm_start_hooks` instead.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from warm_start_hooks import _apply
from warm_start_hooks import _assignment_map
from warm_start_hooks import _coerce
from warm_start_hooks import _errors
from warm_start_hooks import _multiworker
from warm_start_hooks import _plan
from warm_start_hooks import _pools
from warm_start_hooks import _provenance
from warm_start_hooks import _report
from warm_start_hooks import _settings
from warm_start_hooks import _variables


def make_plan(settings: Any, *, variables: Any = None) -> _plan.Plan:
    """Builds and validates a plan; changes nothing.

    Args:
      settings: `WarmStartSettings`, a `tf.estimator.WarmStartSettings`, a dict,
        or a checkpoint path.
      variables: Where to select from in eager mode (see `warm_start`).

    Returns:
      The validated `Plan`.
    """
    settings = _coerce.coerce_settings(settings)
    pool = _pools.pool_of(variables, settings.vars_to_warm_start)
    multi_worker_strategy(pool)  # Refuses graph mode across workers.
    return _plan.build_plan(settings, pool)


def plan(settings: Any, *, variables: Any = None) -> _report.WarmStartReport:
    """Validates a warm start and reports what it would do, changing nothing.

    Args:
      settings: `WarmStartSettings`, a `tf.estimator.WarmStartSettings`, a dict,
        or a checkpoint path.
      variables: Where to select from in eager mode: a Keras model, a
        `tf.Module`, a list of variables or a dict of name to variable.
        Defaults to `None` (graph collections).

    Returns:
      A `WarmStartReport` with `applied=False`.

    Raises:
      WarmStartError: listing every problem.
    """
    start = time.perf_counter()
    p = make_plan(settings, variables=variables)
    return _report.WarmStartReport.from_plan(p, applied=False, seconds=time.perf_counter() - start)


def execute(p: _plan.Plan, start: float | None = None, log: bool = True) -> _report.WarmStartReport:
    """Applies a plan made by `make_plan`; returns the report."""
    start = time.perf_counter() if start is None else start
    _apply.apply(p)
    if not p.graph:
        _mark(
            [part for e in p.entries if e.action != _plan.SKIP for part in p.targets[e.id].parts],
            p.source.prefix,
        )
    report = _report.WarmStartReport.from_plan(p, applied=True, seconds=time.perf_counter() - start)
    if p.settings.provenance_dir:
        _provenance.write(p.settings.provenance_dir, report, p.source.fingerprint())
    if log:
        report.log()
    return report


# Attribute set on each variable an eager warm start assigned: the source prefix.
_MARK = '_warm_start_hooks_source'


def _mark(parts: Sequence[_variables.Part], prefix: str) -> None:
    for part in parts:
        try:
            setattr(part.variable, _MARK, prefix)
        except (AttributeError, TypeError):
            pass  # A variable type that takes no attributes is simply not marked.


def multi_worker_strategy(variables: Any) -> Any:
    """The strategy whose workers all hold copies of `variables` (a model, list or Pool), or None.

    Raises:
      WarmStartError: Graph-mode variables mirrored across workers.
    """
    pool = variables if isinstance(variables, _variables.Pool) else _pools.pool_of(variables, None)
    return _multiworker.strategy_for(pool)


def warm_start_across_workers(
    settings: Any,
    variables: Any,
    strategy: Any,
    *,
    skip_reason: str | None = None,
    start: float | None = None,
    log: bool = True,
) -> _report.WarmStartReport:
    """Warm-starts variables mirrored on every worker of `strategy` alike (see `_multiworker`).

    Every worker calls it; they skip together when all pass a `skip_reason`
    (why they resume instead), and all raise if only some do. `variables` is
    this worker's model, list or Pool; returns this worker's report.
    """
    start = time.perf_counter() if start is None else start
    settings = _coerce.coerce_settings(settings)
    pool = variables if isinstance(variables, _variables.Pool) else _pools.pool_of(variables, None)
    result = _multiworker.run(
        strategy,
        pool,
        lambda: _plan.build_plan(settings, pool),
        os.fsdecode(settings.ckpt_to_initialize_from),
        skip_reason=skip_reason,
    )
    report = dataclasses.replace(result.report, seconds=time.perf_counter() - start)
    if report.applied:
        _mark(result.parts, report.source)
        if result.plan is not None and settings.provenance_dir:
            _provenance.write(settings.provenance_dir, report, result.plan.source.fingerprint())
    if log:
        report.log()
    return report


def warm_started_from(variable: Any) -> str | None:
    """The checkpoint an eager warm start assigned `variable` from, or None.

    Integrations use it to leave a model alone that was already warm-started
    (by `warm_start(variables=...)` or a Keras callback) instead of
    overwriting what was done since.
    """
    return getattr(variable, _MARK, None)


def warm_start(
    ckpt_to_initialize_from: Any,
    vars_to_warm_start: str | Sequence[Any] | None = '.*',
    var_name_to_vocab_info: Mapping[str, Any] | None = None,
    var_name_to_prev_var_name: Mapping[str, str] | None = None,
    *,
    variables: Any = None,
    **options: Any,
) -> _report.WarmStartReport:
    """Warm-starts variables from a checkpoint: TensorFlow's `warm_start`, and more.

    The signature and graph-mode results are those of
    `tf.compat.v1.train.warm_start`: initializers are overridden, so a
    Scaffold applies them only when the model does not restore its own
    checkpoint. In eager mode (TF2, Keras 3) values are assigned at once;
    pass `variables=`. Every problem is found before anything changes.

    Under `MultiWorkerMirroredStrategy` call it on every worker, as every
    worker builds the model: the chief (the task of replica 0) plans and
    reads, and every worker assigns the same values, sent through the
    strategy's all-reduce; the other workers read nothing. Graph-mode
    variables mirrored across workers are refused.

    Args:
      ckpt_to_initialize_from: A checkpoint path (str, bytes or
        `os.PathLike`), or the settings: a `WarmStartSettings`, a
        `tf.estimator.WarmStartSettings` or a dict of their fields (then the
        other positional arguments must be left at their defaults).
      vars_to_warm_start: See `WarmStartSettings`. Defaults to `'.*'`.
      var_name_to_vocab_info: See `WarmStartSettings`. Defaults to `None`.
      var_name_to_prev_var_name: See `WarmStartSettings`. Defaults to `None`.
      variables: Eager mode: a Keras model, a `tf.Module`, a list of variables
        or a dict of name to variable to select from. Defaults to `None`.
      **options: Keyword-only `WarmStartSettings` fields (`collection`,
        `rules`, `shape_policy`, ...).

    Returns:
      A `WarmStartReport`.

    Raises:
      WarmStartError: listing every problem; nothing was changed. A missing
        checkpoint raises `CheckpointNotFoundError`, which is also the
        `tf.errors.NotFoundError` TensorFlow raises.
      ApplyError: a read failed while applying (eager); nothing was changed.

    Example:
      ```python
      report = warm_start_hooks.warm_start(
          '/tmp/old_model', vars_to_warm_start='.*',
          var_name_to_vocab_info={'emb': warm_start_hooks.VocabInfo(
              'new_vocab.txt', 1000, 1, 'old_vocab.txt')})
      print(report)
      ```
    """
    start = time.perf_counter()
    first = ckpt_to_initialize_from
    positional = (vars_to_warm_start, var_name_to_vocab_info, var_name_to_prev_var_name)
    if isinstance(first, (_settings.WarmStartSettings, Mapping)) or hasattr(
        first, 'ckpt_to_initialize_from'
    ):
        if positional != ('.*', None, None):
            raise _errors.WarmStartError(
                [
                    'warm_start was given settings and also vars_to_warm_start, '
                    'var_name_to_vocab_info or var_name_to_prev_var_name. Put every field in '
                    'the settings (dataclasses.replace(settings, ...)). Received: '
                    f'vars_to_warm_start={vars_to_warm_start!r}, var_name_to_vocab_info='
                    f'{var_name_to_vocab_info!r}, var_name_to_prev_var_name='
                    f'{var_name_to_prev_var_name!r}'
                ]
            )
        settings = _coerce.coerce_settings(first, **options)
    else:
        settings = _coerce.coerce_settings(
            _settings.WarmStartSettings(first, *positional), **options
        )
    pool = _pools.pool_of(variables, settings.vars_to_warm_start)
    strategy = multi_worker_strategy(pool)
    if strategy is not None:
        # Mirrored on several workers: one plans and reads, all assign the same values.
        return warm_start_across_workers(settings, pool, strategy, start=start)
    return execute(_plan.build_plan(settings, pool), start)


def init_from_checkpoint(
    ckpt_dir_or_file: str | bytes | os.PathLike,
    assignment_map: Mapping[str, Any] | Sequence[tuple[str, Any]],
    *,
    variables: Any = None,
    **options: Any,
) -> _report.WarmStartReport:
    """Initializes variables from checkpoint tensors: TensorFlow's `init_from_checkpoint`.

    Every form of TensorFlow's assignment map works: `'ckpt/var': 'var'`,
    `'ckpt/var': variable`, `'ckpt/var': [partitions]`, `'ckpt_scope/':
    'scope/'`, `'/': 'scope/'` (the checkpoint's root) and `'var/part_N'`
    names; a dict or a list of pairs, where one tensor may feed several
    variables. It also works with `tf.Variable`s and Keras 3 variables in
    eager mode, where values are assigned at once.

    Args:
      ckpt_dir_or_file: A checkpoint prefix, directory or SavedModel (str,
        bytes or `os.PathLike`).
      assignment_map: Checkpoint name (or scope) to variable, variable list,
        variable name or scope.
      variables: Eager mode: where string targets are looked up (a model, a
        `tf.Module`, a list or a dict). Defaults to `None`: graph globals.
      **options: Keyword-only `WarmStartSettings` fields (e.g. `dtype_policy`).

    Returns:
      A `WarmStartReport`.

    Raises:
      WarmStartError: listing every problem; nothing was changed. A missing
        checkpoint raises `CheckpointNotFoundError`, which is also the
        `tf.errors.NotFoundError` TensorFlow raises.
    """
    start = time.perf_counter()
    context = 'init_from_checkpoint'
    try:
        settings = _coerce.coerce_settings(_settings.WarmStartSettings(ckpt_dir_or_file), **options)
        problems = settings.problems()
        items, map_problems = _assignment_map.items_of(assignment_map)
        _errors.raise_if_problems(problems + map_problems, context)
        source = _plan.open_source(settings.ckpt_to_initialize_from)
        if variables is not None:
            pool = _pools.object_pool(variables)
        elif tf.executing_eagerly():
            pool = _variables.Pool([], [], graph=False)
        else:
            pool = _variables.graph_pool()
    except _errors.WarmStartError as e:
        # The same kind of error (a missing checkpoint is also a NotFoundError), named for
        # this call.
        raise type(e)(e.problems, context) from None
    explicit, problems = _assignment_map.resolve(items, pool, source)
    _errors.raise_if_problems(problems, 'init_from_checkpoint')
    p = _plan.build_plan(settings, pool, explicit=explicit, source=source)
    return execute(p, start)
