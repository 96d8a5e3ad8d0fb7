"""Planning and validation: what each variable gets, checked before anything changes.

Do not import this module directly; use `import warm_start_hooks` instead.

`build_plan` gathers every problem (settings, checkpoint, names, shapes,
dtypes, vocabularies, unused configuration) and raises them together. A plan
that comes back is valid; applying it changes variables, planning never does.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from warm_start_hooks import _checkpoint
from warm_start_hooks import _distribute
from warm_start_hooks import _errors
from warm_start_hooks import _h5
from warm_start_hooks import _names
from warm_start_hooks import _settings
from warm_start_hooks import _slots
from warm_start_hooks import _variables
from warm_start_hooks import _vocab
from warm_start_hooks import _vocab_check

COPY = 'copy'
REMAP = 'remap'
OVERLAP = 'overlap'
SKIP = 'skip'


@dataclasses.dataclass(frozen=True)
class VocabStats:
    """Counts of one vocabulary remap (rows for axis 0, columns for axis 1)."""

    axis: int
    kept: int
    moved: int
    new: int
    oov: int
    dropped: int
    new_vocab: str
    old_vocab: str
    init: str


@dataclasses.dataclass(frozen=True)
class PlanEntry:
    """What happens to one variable. Plain data: printable, JSON-able.

    Attributes:
      name: The variable's name.
      action: 'copy', 'remap', 'overlap' or 'skip'.
      source_key: The checkpoint tensor it reads, if any.
      shape: The variable's full shape.
      source_shape: The checkpoint tensor's shape, if any.
      dtype: The variable's dtype name.
      source_dtype: The checkpoint tensor's dtype name, if any.
      partitions: How many parts the variable is stored in.
      nbytes: The variable's size in bytes.
      cast: Whether values are cast from `source_dtype`.
      vocab: Remap counts, for 'remap'.
      reason: Why, for 'skip' and 'overlap'.
      renamed_by: What gave the source name: 'same', 'var_name_to_prev_var_name',
        'rule N' or 'object graph'.
      parts_detail: For a variable stored in several parts (partitions, PS
        shards): each part's rows, device and row counts.
    """

    name: str
    action: str
    source_key: str | None
    shape: tuple[int, ...]
    source_shape: tuple[int, ...] | None
    dtype: str
    source_dtype: str | None
    partitions: int
    nbytes: int
    cast: bool = False
    vocab: VocabStats | None = None
    reason: str | None = None
    renamed_by: str = 'same'
    parts_detail: tuple[_distribute.PartDetail, ...] = ()


@dataclasses.dataclass(eq=False)
class Plan:
    """A validated plan, and what applying it needs.

    Attributes:
      entries: One entry per selected variable, in selection order.
      source: The opened checkpoint.
      settings: The settings it was made from.
      targets: Variable name -> `Target`.
      remaps: Variable name -> (`Remapping`, `VocabInfo`, old `Vocab`).
      unused_keys: Checkpoint tensors no entry reads.
      notes: Things worth knowing that are not errors.
      graph: Whether the targets are graph-mode variables.
    """

    entries: list[PlanEntry]
    source: _checkpoint.CheckpointSource
    settings: _settings.WarmStartSettings
    targets: dict[str, _variables.Target]
    remaps: dict[str, tuple[_vocab.Remapping, _settings.VocabInfo, _vocab.Vocab]]
    unused_keys: list[str]
    notes: list[str]
    graph: bool


_NON_MODEL_KEYS = ('_CHECKPOINTABLE_OBJECT_GRAPH', 'save_counter/.ATTRIBUTES/VARIABLE_VALUE')


def build_plan(
    settings: _settings.WarmStartSettings,
    pool: _variables.Pool,
    explicit: list[tuple[_variables.Target, str]] | None = None,
    source: _checkpoint.CheckpointSource | None = None,
) -> Plan:
    """Validates `settings` against the variables in `pool` and the checkpoint.

    Args:
      settings: What to warm-start.
      pool: The variables selection may pick from.
      explicit: `(target, checkpoint name)` pairs that replace selection and
        renaming (`init_from_checkpoint`'s assignment map).
      source: An already opened checkpoint, to read it once.

    Returns:
      A valid `Plan`.

    Raises:
      WarmStartError: Listing every problem found. Nothing was changed.
    """
    # Settings problems are listed with everything else found, not alone: one
    # error shows them all. Checks that a bad setting would derail are skipped.
    problems = settings.problems()
    ckpt = settings.ckpt_to_initialize_from
    if problems and not (isinstance(ckpt, (str, os.PathLike)) and os.fspath(ckpt)):
        raise _errors.WarmStartError(problems)
    rules = None
    if settings.rules:
        try:
            rules = _names.RenameRules(settings.rules)
        except _errors.WarmStartError as e:
            problems.extend(e.problems)
        except (TypeError, ValueError):
            pass  # A malformed rule: settings.problems() reported it.
    if source is None:
        try:
            source = open_source(ckpt)
        except _errors.WarmStartError as e:
            raise _errors.WarmStartError(problems + e.problems) from None
    if settings.rules and rules is None:
        # Without the rules, every name lookup would be wrong.
        _errors.raise_if_problems(problems)
    bad_infos = set()
    for name, info in (settings.var_name_to_vocab_info or {}).items():
        if not isinstance(info, _settings.VocabInfo):
            info = _settings.from_tf_vocab_info(info)
        if info is None or info.problems(name):
            bad_infos.add(name)
    if explicit is None:
        selection = _variables.select(settings.vars_to_warm_start, settings.collection, pool)
    else:
        selection = _variables.Selection([t for t, _ in explicit], [])
    problems.extend(selection.problems)
    targets = selection.targets
    explicit_names = {id(t): prev for t, prev in (explicit or [])}
    by_name = {t.name: t for t in targets}
    all_names = [t.name for t in pool.everything] or list(by_name)

    all_vocab_infos = _by_name(settings.vocab_infos, pool, targets)
    bad_infos = set(_by_name(dict.fromkeys(bad_infos), pool, targets))
    vocab_infos = {k: v for k, v in all_vocab_infos.items() if k not in bad_infos}
    prev_names = _by_name(settings.var_name_to_prev_var_name or {}, pool, targets)
    rules_used: set[int] = set()
    vocab_cache: dict[Any, _vocab.Vocab] = {}
    entries: list[PlanEntry] = []
    remaps = {}
    notes: list[str] = []
    used_keys: set[str] = set()

    object_paths, path_prefix = _object_paths(source, pool)
    slots: dict[str, tuple[str, _slots.SlotName]] = {}
    if settings.include_slots:
        slots, slot_problems = _slots.find_slots(settings, targets, vocab_infos)
        problems.extend(slot_problems)

    for target in targets:
        info = vocab_infos.get(target.name)
        slot = slots.get(target.name)
        if slot is not None and slot[0] in vocab_infos:
            # The slot follows its variable's remap; new rows keep the slot's initial value.
            info = dataclasses.replace(
                vocab_infos[slot[0]], backup_initializer=None, new_row_init=_settings.NEW_ROW_FRESH
            )
        if selection.vocab_only and info is None:
            continue
        # 1. The name in the checkpoint.
        renamed_by = 'same'
        prev = target.name
        if slot is not None and target.name not in prev_names and id(target) not in explicit_names:
            prev = slot[1].rename(_slots.parent_prev(slot[0], prev_names, rules))
            renamed_by = f'slot of {slot[0]}'
        elif id(target) in explicit_names:
            prev = explicit_names[id(target)]
            renamed_by = 'assignment_map'
        elif target.name in prev_names:
            prev = prev_names[target.name]
            renamed_by = 'var_name_to_prev_var_name'
        elif rules is not None:
            matches = rules.all_matches(target.name)
            if len(matches) > 1:
                rules_used.update(m.rule_index for m in matches)
                problems.append(
                    f'variable {target.name!r} is matched by {len(matches)} rules '
                    f'({[settings.rules[m.rule_index][0] for m in matches]}); a variable may be '
                    'claimed by one rule only. Narrow the patterns.'
                )
                continue
            if matches:
                rules_used.add(matches[0].rule_index)
                renamed_by = f'rule {matches[0].rule_index}'
                if matches[0].target is _names.IGNORE:
                    entries.append(_skip(target, None, f'ignored by rule {matches[0].rule_index}'))
                    continue
                prev = matches[0].target
        key = source.key_for(prev)
        if key is None and (renamed_by == 'same' or renamed_by.startswith('slot')):
            for alias in target.aliases:
                key = source.key_for(alias)
                if key:
                    break
            if key is None and (len(target.parts) == 1 or target.container is not None):
                owner = target.container
                if owner is None:
                    owner = target.parts[0].variable
                for path in object_paths.get(id(owner), ()):
                    key = source.key_for(path_prefix + path)
                    if key:
                        renamed_by = 'object path'
                        break
        if key is None:
            if settings.on_missing == _settings.SKIP:
                entries.append(_skip(target, None, f'no tensor {prev!r} in the checkpoint'))
                continue
            tip = _errors.did_you_mean(prev, source.names())
            problems.append(
                f'variable {target.name!r}: tensor {prev!r} is not in checkpoint '
                f'{source.prefix!r}.{tip} Map it with var_name_to_prev_var_name or rules, or '
                f"pass on_missing='skip'. Received: name={prev!r}"
            )
            continue
        if key != prev and renamed_by == 'same':
            renamed_by = 'object graph'
        src_shape = source.shapes[key]
        src_dtype = source.dtypes[key]
        used_keys.add(key)
        # 2. dtype.
        cast = False
        if src_dtype != target.dtype:
            if settings.dtype_policy == _settings.CAST and _castable(src_dtype, target.dtype):
                cast = True
            else:
                problems.append(
                    f'variable {target.name!r} is {target.dtype.name} but checkpoint tensor '
                    f"{key!r} is {src_dtype.name}. Pass dtype_policy='cast' to convert floats, "
                    f'or map another tensor. Received: dtype={src_dtype.name}'
                )
                continue
        if target.name in bad_infos:
            continue  # Its VocabInfo's own problems are listed; the remap is not checked.
        # 3. Vocabulary remap or plain copy.
        if info is not None:
            remap, entry_problems, stats, checked = _plan_remap(
                target, key, src_shape, info, settings, vocab_cache
            )
            problems.extend(entry_problems)
            if entry_problems:
                continue
            remaps[target.name] = (remap, info, checked.old)
            notes.extend(f'{target.name}: {note}' for note in checked.notes)
            entries.append(
                _entry(target, REMAP, key, src_shape, src_dtype, cast, renamed_by, vocab=stats)
            )
            continue
        if tuple(src_shape) != tuple(target.full_shape):
            policy = _shape_policy(settings.shape_policy, target.name)
            what = (
                f'variable {target.name!r} has shape {list(target.full_shape)} but checkpoint '
                f'tensor {key!r} has shape {list(src_shape)}'
            )
            if policy == _settings.SKIP:
                entries.append(_skip(target, key, what, src_shape, src_dtype))
            elif policy == _settings.OVERLAP and len(src_shape) == len(target.full_shape):
                if target.partitioned:
                    problems.append(
                        f'{what}; overlap copy of a partitioned variable is not supported.'
                    )
                    continue
                entries.append(
                    _entry(
                        target,
                        OVERLAP,
                        key,
                        src_shape,
                        src_dtype,
                        cast,
                        renamed_by,
                        reason=what + '; the overlapping block was copied',
                    )
                )
            else:
                problems.append(
                    f"{what}. Map the right tensor, or set shape_policy='skip' or 'overlap' "
                    f'for it. Received: shape={list(src_shape)}'
                )
            continue
        entries.append(_entry(target, COPY, key, src_shape, src_dtype, cast, renamed_by))

    # 4. Configuration that nothing used.
    selected = {t.name for t in targets}
    for k in _names.unused(prev_names, selected):
        problems.append(
            f'var_name_to_prev_var_name has {k!r}, which names no selected variable; it was '
            f'not used.{_errors.did_you_mean(k, selected or all_names)} Fix the name or the '
            f'selection. Received: key={k!r}'
        )
    for k in _names.unused(all_vocab_infos, selected):
        problems.append(
            f'var_name_to_vocab_info has {k!r}, which names no selected variable; it was not '
            f'used.{_errors.did_you_mean(k, selected or all_names)} Fix the name or the '
            f'selection. Received: key={k!r}'
        )
    if rules is not None:
        for i, pattern in enumerate(rules.patterns):
            if i not in rules_used:
                problems.append(
                    f'rule {i} ({pattern!r}) matches no selected variable in full. Expected a '
                    f'regex that matches a whole name such as {sorted(selected)[:3]}. '
                    f'Received: pattern={pattern!r}'
                )
    unused_keys = [
        k
        for k in source.keys
        if k not in used_keys and k not in _NON_MODEL_KEYS and '.OPTIMIZER_SLOT' not in k
    ]
    if settings.strict:
        ignore = [re.compile(p) for p in settings.ignore_checkpoint_keys]
        left = [k for k in unused_keys if not any(r.fullmatch(k) for r in ignore)]
        if left:
            problems.append(
                f'strict mode: {len(left)} checkpoint tensor(s) are not used: {left[:10]}'
                f'{" ..." if len(left) > 10 else ""}. Warm-start them, or list them in '
                'ignore_checkpoint_keys.'
            )
    _errors.raise_if_problems(problems)
    entries = [_with_parts_detail(e, by_name, remaps) for e in entries]
    return Plan(
        entries=entries,
        source=source,
        settings=settings,
        targets={t.name: t for t in targets},
        remaps=remaps,
        unused_keys=unused_keys,
        notes=notes,
        graph=pool.graph,
    )


def _with_parts_detail(entry, targets, remaps):
    """`entry` with the rows of each part, for a variable stored in several parts."""
    target = targets.get(entry.name)
    if target is None or len(target.parts) < 2 or entry.action == SKIP:
        return entry
    index, new_size = None, 0
    if entry.name in remaps and remaps[entry.name][1].axis == 0:
        remap = remaps[entry.name][0]
        index, new_size = remap.full_index(), len(remap.old_index)
    return dataclasses.replace(
        entry, parts_detail=_distribute.part_details(target.parts, index, new_size)
    )


def _by_name(mapping, pool, targets):
    """Keys that are variable objects replaced by the names selection uses."""
    out = {}
    by_id = {}
    for t in list(targets) + list(pool.everything):
        for p in t.parts:
            by_id.setdefault(id(p.variable), t.name)
    for key, value in mapping.items():
        if isinstance(key, str):
            out[key] = value
        else:
            if hasattr(key, 'deref'):  # tf.Variable.ref(): variables are unhashable in TF2.
                key = key.deref()
            ids = [id(key)] + [id(v) for v in getattr(key, '_get_variable_list', lambda: [])()]
            ids += [id(v) for v in getattr(key, 'variables', ()) if _variables.is_variable(v)]
            name = next((by_id[i] for i in ids if i in by_id), None)
            out[name if name is not None else _variables.variable_name(key)] = value
    return out


def _object_paths(source, pool):
    """Object paths of the pool's variables, and the checkpoint prefix they sit under.

    A model saved with `save_weights` is the checkpoint's root; one saved with
    `tf.train.Checkpoint(model=...)` sits under `model/`. The prefix that
    resolves the most variables is used.
    """
    if not source.object_based or pool.root is None:
        return {}, ''
    # A source with its own layout (Keras .weights.h5) says where a variable sits.
    layout = getattr(source, 'object_paths', None)
    paths = layout(pool.root) if layout is not None else pool.object_paths()
    best, best_hits = '', -1
    for prefix in [''] + [f'{c}/' for c in source.root_children]:
        hits = sum(any(source.key_for(prefix + p) for p in ps) for ps in paths.values())
        if hits > best_hits:
            best, best_hits = prefix, hits
    return paths, best


def open_source(path: Any) -> _checkpoint.CheckpointSource:
    """Opens a checkpoint; a failure becomes a one-problem `WarmStartError`."""
    try:
        if _h5.is_h5_path(path):
            return _h5.H5Source(path)
        return _checkpoint.CheckpointSource(path)
    except (_errors.CheckpointNotFoundError, _errors.CorruptCheckpointError) as e:
        raise _errors.WarmStartError([str(e)]) from None


def _plan_remap(target, key, src_shape, info, settings, cache):
    """Checks one VocabInfo against its variable and tensor; computes the remapping."""
    problems = []
    name = target.name
    shape = target.full_shape
    if len(shape) != 2:
        return (
            None,
            [
                f'variable {name!r} has a VocabInfo but is {len(shape)}-D (shape {list(shape)}); a '
                'vocabulary remap needs a 2-D variable (rows x columns). Remove its VocabInfo. '
                f'Received: shape={list(shape)}'
            ],
            None,
            None,
        )
    if len(src_shape) != 2:
        return (
            None,
            [
                f'variable {name!r}: checkpoint tensor {key!r} is {len(src_shape)}-D; a remap '
                f'needs 2-D. Received: shape={list(src_shape)}'
            ],
            None,
            None,
        )
    if info.backup_initializer is not None and not callable(info.backup_initializer):
        # E.g. a string from a JSON settings file: it is never evaluated.
        problems.append(
            f'variable {name!r}: backup_initializer must be callable, such as '
            'tf.compat.v1.zeros_initializer(). Received: '
            f'backup_initializer={info.backup_initializer!r}'
        )
    axis = info.axis
    total = info.new_vocab_size + info.num_oov_buckets
    if shape[axis] != total:
        problems.append(
            f'variable {name!r} has {shape[axis]} {"rows" if axis == 0 else "columns"}, but its '
            f'VocabInfo gives new_vocab_size + num_oov_buckets = {info.new_vocab_size} + '
            f'{info.num_oov_buckets} = {total}. Fix the sizes. Received: shape={list(shape)}'
        )
    other = 1 - axis
    if src_shape[other] != shape[other]:
        problems.append(
            f'variable {name!r} has shape {list(shape)} and checkpoint tensor {key!r} has '
            f'{list(src_shape)}: axis {other} must match (only axis {axis} is remapped). '
            f'Received: shape={list(src_shape)}'
        )
    if target.partitioned and any(p.offset[1] != 0 for p in target.parts):
        problems.append(
            f'variable {name!r} is partitioned along axis 1; a remap supports partitions along '
            'axis 0 only.'
        )
    if settings.remap_backend == _settings.TF_OPS:
        if target.dtype != tf.float32:
            problems.append(
                f"variable {name!r}: remap_backend='tf_ops' supports float32 only. Use the "
                f"default 'numpy' backend. Received: dtype={target.dtype.name}"
            )
        if not (isinstance(info.new_vocab, str) and isinstance(info.old_vocab, str)):
            problems.append(
                f"variable {name!r}: remap_backend='tf_ops' needs vocabulary files, not lists."
            )
    checked = _vocab_check.check_pair(info, name, cache, src_shape[axis], key)
    problems += checked.problems
    if problems:
        return None, problems, None, None
    remap, donor = checked.remapping, info.new_row_init
    if info.new_row_init is not None:
        init = info.new_row_init if isinstance(info.new_row_init, str) else f'copy {donor[1]!r}'
    elif info.backup_initializer is not None:
        init = getattr(info.backup_initializer, '__name__', type(info.backup_initializer).__name__)
    else:
        init = 'zeros'
    stats = VocabStats(
        axis=axis,
        kept=remap.kept,
        moved=remap.moved,
        new=remap.new,
        oov=info.num_oov_buckets,
        dropped=remap.dropped,
        new_vocab=_vocab.describe(info.new_vocab),
        old_vocab=_vocab.describe(info.old_vocab),
        init=init,
    )
    return remap, [], stats, checked


def _shape_policy(policy: str | Mapping[str, str], name: str) -> str:
    if isinstance(policy, str):
        return policy
    for pattern, p in policy.items():
        if re.fullmatch(pattern, name):
            return p
    return _settings.ERROR


def _castable(src: tf.DType, dst: tf.DType) -> bool:
    return src.is_floating and dst.is_floating


def _entry(target, action, key, src_shape, src_dtype, cast, renamed_by, vocab=None, reason=None):
    return PlanEntry(
        name=target.name,
        action=action,
        source_key=key,
        shape=tuple(target.full_shape),
        source_shape=tuple(src_shape),
        dtype=target.dtype.name,
        source_dtype=src_dtype.name,
        partitions=len(target.parts),
        nbytes=target.nbytes,
        cast=cast,
        vocab=vocab,
        reason=reason,
        renamed_by=renamed_by,
    )


def _skip(target, key, reason, src_shape=None, src_dtype=None):
    return PlanEntry(
        name=target.name,
        action=SKIP,
        source_key=key,
        shape=tuple(target.full_shape),
        source_shape=tuple(src_shape) if src_shape is not None else None,
        dtype=target.dtype.name,
        source_dtype=src_dtype.name if src_dtype is not None else None,
        partitions=len(target.parts),
        nbytes=target.nbytes,
        reason=reason,
    )
