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
from warm_start_hooks import _errors
from warm_start_hooks import _multiworker
from warm_start_hooks import _names
from warm_start_hooks import _plan
from warm_start_hooks import _plan_select
from warm_start_hooks import _provenance
from warm_start_hooks import _report
from warm_start_hooks import _select
from warm_start_hooks import _settings
from warm_start_hooks import _variables


def _object_pool(variables: Any) -> _variables.Pool:
    """The variables of a model, module, list or dict; a wrong form is a WarmStartError."""
    if isinstance(variables, Mapping):
        items = list(variables.items())
    elif isinstance(variables, (list, tuple)):
        items = list(enumerate(variables))
    else:
        items = []
    problems = [
        f'variables[{k!r}] is not a variable or a PartitionedVariable but a '
        f'{type(v).__name__}. Pass the model, or only its variables. '
        f'Received: variables[{k!r}]={v!r:.80}'
        for k, v in items
        if not (_variables.is_variable(v) or _select.is_group(v))
    ]
    if isinstance(variables, Mapping):
        problems += [
            f'variables keys must be variable names (str). Received: {k!r}'
            for k, _ in items
            if not isinstance(k, str)
        ]
    _errors.raise_if_problems(problems)
    try:
        return _variables.object_pool(variables)
    except TypeError as e:
        raise _errors.WarmStartError([str(e)]) from None


def _pool(variables: Any, vars_to_warm_start: Any) -> _variables.Pool:
    if isinstance(variables, _variables.Pool):
        return variables
    if variables is not None:
        return _object_pool(variables)
    if tf.executing_eagerly():
        if (
            isinstance(vars_to_warm_start, (list, tuple))
            and vars_to_warm_start
            and all(_variables.is_variable(v) or _select.is_group(v) for v in vars_to_warm_start)
        ):
            return _variables.object_pool(list(vars_to_warm_start))
        raise _errors.WarmStartError(
            [
                'In eager mode there is no variable collection to select from. Pass the model '
                'or its variables: warm_start(..., variables=model) (a Keras model, a tf.Module, '
                'a list, or a dict of name to variable). Received: variables=None'
            ]
        )
    return _variables.graph_pool()


def make_plan(settings: Any, *, variables: Any = None) -> _plan.Plan:
    """Builds and validates a plan; changes nothing.

    Args:
      settings: `WarmStartSettings`, a `tf.estimator.WarmStartSettings`, a dict,
        or a checkpoint path.
      variables: Where to select from in eager mode (see `warm_start`).

    Returns:
      The validated `Plan`.
    """
    settings = _settings.coerce_settings(settings)
    pool = _pool(variables, settings.vars_to_warm_start)
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
    pool = variables if isinstance(variables, _variables.Pool) else _pool(variables, None)
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
    settings = _settings.coerce_settings(settings)
    pool = variables if isinstance(variables, _variables.Pool) else _pool(variables, None)
    result = _multiworker.run(
        strategy,
        pool,
        lambda: _plan.build_plan(settings, pool),
        os.fspath(settings.ckpt_to_initialize_from),
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
        settings = _settings.coerce_settings(first, **options)
    else:
        settings = _settings.coerce_settings(
            _settings.WarmStartSettings(first, *positional), **options
        )
    pool = _pool(variables, settings.vars_to_warm_start)
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
        settings = _settings.coerce_settings(
            _settings.WarmStartSettings(ckpt_dir_or_file), **options
        )
        problems = settings.problems()
        items, map_problems = _assignment_items(assignment_map)
        _errors.raise_if_problems(problems + map_problems, context)
        source = _plan.open_source(settings.ckpt_to_initialize_from)
        if variables is not None:
            pool = _object_pool(variables)
        elif tf.executing_eagerly():
            pool = _variables.Pool([], [], graph=False)
        else:
            pool = _variables.graph_pool()
    except _errors.WarmStartError as e:
        # The same kind of error (a missing checkpoint is also a NotFoundError), named for
        # this call.
        raise type(e)(e.problems, context) from None
    explicit: list[tuple[_variables.Target, str]] = []
    seen: dict[int, str] = {}
    # In checkpoint-name order, as TensorFlow applies them; a key that is not a
    # string is reported by `_resolve_item`.
    for ckpt_name, current in sorted(
        items, key=lambda kv: (not isinstance(kv[0], str), str(kv[0]))
    ):
        pairs, item_problems = _resolve_item(ckpt_name, current, pool, source)
        problems.extend(item_problems)
        for target, key in pairs:
            if id(target) in seen and seen[id(target)] != key:
                problems.append(
                    f'variable {target.name!r} is assigned twice, from {seen[id(target)]!r} and '
                    f'{key!r}. Each variable takes one tensor. Received: {ckpt_name!r}'
                )
                continue
            if id(target) not in seen:
                seen[id(target)] = key
                explicit.append((target, key))
    _errors.raise_if_problems(problems, 'init_from_checkpoint')
    p = _plan.build_plan(settings, pool, explicit=explicit, source=source)
    return execute(p, start)


def _assignment_items(assignment_map: Any) -> tuple[list[tuple[Any, Any]], list[str]]:
    """The (checkpoint name, target) pairs of an assignment map, or a problem."""
    if isinstance(assignment_map, Mapping):
        return list(assignment_map.items()), []
    if isinstance(assignment_map, (list, tuple)) and all(
        isinstance(item, (list, tuple)) and len(item) == 2 for item in assignment_map
    ):
        return [tuple(item) for item in assignment_map], []
    return [], [
        'assignment_map must be a dict of checkpoint name (or scope) to a variable, a list of '
        "partitions, a variable name or a scope, e.g. {'old_scope/': 'new_scope/'}, or a list "
        f'of such (name, target) pairs. Received: assignment_map={assignment_map!r}'
    ]


def _resolve_item(ckpt_name, current, pool, source):
    """(target, checkpoint name) pairs for one assignment-map item, and problems."""
    if not isinstance(ckpt_name, str):
        return [], [f'assignment_map keys must be checkpoint names. Received: {ckpt_name!r}']
    if _variables.is_variable(current) and getattr(current, '_save_slice_info', None):
        # One partition given alone is a variable of its own, as in TensorFlow:
        # it takes a whole tensor of its own shape.
        name = _names.strip_output_suffix(current.name)
        return [(_standalone_part(name, current), ckpt_name)], []
    if isinstance(current, (list, tuple)) and current:
        return _resolve_list(ckpt_name, current, pool)
    if _variables.is_variable(current) or _select.is_group(current):
        (target,) = _variables.to_targets([current])
        # Reuse the pool's target for the same variable, so it is planned once.
        return [(pool.same(target), ckpt_name)], []
    if not isinstance(current, str):
        return [], [
            'assignment_map values must be a variable, a list of partitions, a variable name '
            f'or a scope. Received: {ckpt_name!r}: {type(current).__name__}'
        ]
    return _resolve_name(ckpt_name, current, pool, source)


def _resolve_list(ckpt_name, current, pool):
    """A list value: the partitions of one variable, as in TensorFlow."""
    if not all(_variables.is_variable(v) for v in current):
        return [], [
            'assignment_map values must be a variable, a list of partitions, a variable name '
            f'or a scope. Received: {ckpt_name!r}: a list of '
            f'{sorted({type(v).__name__ for v in current})}'
        ]
    targets = _variables.to_targets([list(current)])
    whole = len(targets) == 1 and all(
        getattr(v, '_save_slice_info', None) is not None for v in current
    )
    if not whole:
        names = [_variables.variable_name(v) for v in current]
        return [], [
            f'assignment_map maps {ckpt_name!r} to a list of {len(current)} variables {names} '
            'that are not the partitions of one variable; a list stands for one partitioned '
            'variable, and one tensor cannot fill several variables through it (TensorFlow '
            'fails here too). Map each variable on its own: '
            f"[('{ckpt_name}', a), ('{ckpt_name}', b)]. Received: {ckpt_name!r}: {names}"
        ]
    return [(pool.same(targets[0]), ckpt_name)], []


def _resolve_name(ckpt_name, current, pool, source):
    """A variable name, a 'var/part_N' name, or a scope: the targets it names."""
    by_name: dict[str, list[_variables.Target]] = {}
    for t in pool.everything:
        by_name.setdefault(t.name, []).append(t)
    base, part = _names.split_partition(current)
    if current in by_name:
        return _one_named(ckpt_name, current, by_name[current])
    if part is not None and len(by_name.get(base, ())) == 1:
        # 'var/part_N': one partition of a partitioned variable.
        t = by_name[base][0]
        if part < len(t.parts):
            # As in TensorFlow, the partition is a variable of its own: it takes a
            # whole tensor of the partition's shape, not a slice of a full one.
            return [(_standalone_part(current, t.parts[part].variable), ckpt_name)], []
    if not ckpt_name.endswith('/'):
        tip = _errors.did_you_mean(current, by_name)
        return [], [
            f'assignment_map maps {ckpt_name!r} to {current!r}, which names no variable.{tip} '
            "A scope mapping must map a scope to a scope, 'old_scope/': 'new_scope/'. "
            f'Received: {ckpt_name!r}: {current!r}'
        ]
    return _resolve_scope(ckpt_name, current, by_name, source)


def _one_named(ckpt_name, name, targets):
    if len(targets) == 1:
        return [(targets[0], ckpt_name)], []
    return [], [
        f'assignment_map maps {ckpt_name!r} to {name!r}, but {len(targets)} variables have that '
        f'name ({_plan_select.describe_all(targets)}), so it cannot tell which one is meant. '
        f"Give the variable itself: {{'{ckpt_name}': variable}}. "
        f'Received: {ckpt_name!r}: {name!r}'
    ]


def _resolve_scope(ckpt_name, current, by_name, source):
    """The scope form `{'old_scope/': 'new_scope/'}`: every variable under the scope."""
    scope = current[: current.rindex('/')] if '/' in current else ''
    var_scope = f'{scope}/' if scope else ''
    out, problems = [], []
    for name, targets in by_name.items():
        key = _names.scope_map(ckpt_name, var_scope, name)
        if key is None:
            continue
        key = key.rstrip('/')
        if not source.keys_for(key):
            problems.append(
                f'scope mapping {ckpt_name!r}: {current!r} maps variable {name!r} to {key!r}, '
                f'which is not in checkpoint {source.prefix!r}.'
                f'{_errors.did_you_mean(key, source.names())}'
            )
            continue
        pairs, found = _one_named(key, name, targets)
        out += pairs
        problems += found
    if not out and not problems:
        problems.append(
            f'assignment_map scope {current!r} holds no variable. '
            f'Received: {ckpt_name!r}: {current!r}'
        )
    return out, problems


def _standalone_part(name, variable):
    shape = tuple(int(d) for d in variable.shape)
    part = _variables.Part(variable, (0,) * len(shape), shape)
    dtype = tf.as_dtype(variable.dtype).base_dtype
    return _variables.Target(name, [part], shape, dtype, bool(getattr(variable, 'trainable', True)))
