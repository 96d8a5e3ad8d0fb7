"""Settings: `VocabInfo` and `WarmStartSettings`.

Do not import this module directly; use `import warm_start_hooks` instead.

Both are frozen dataclasses whose positional fields and defaults match
`tf.compat.v1.train.VocabInfo` and `tf.estimator.WarmStartSettings`. Every
option that TensorFlow lacks is keyword-only, and its default keeps
TensorFlow's behaviour.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import numpy as np

from warm_start_hooks import _errors

# Selection collections.
TRAINABLE = 'trainable'
ALL = 'all'
_COLLECTIONS = (TRAINABLE, ALL)

# Policies.
ERROR = 'error'
SKIP = 'skip'
OVERLAP = 'overlap'
CAST = 'cast'
_SHAPE_POLICIES = (ERROR, SKIP, OVERLAP)
_DTYPE_POLICIES = (ERROR, CAST)
_MISSING_POLICIES = (ERROR, SKIP)

# max_bytes_in_memory: chunks sized from the variable and the memory available.
AUTO = 'auto'

# Remap backends.
NUMPY = 'numpy'
TF_OPS = 'tf_ops'
_BACKENDS = (NUMPY, TF_OPS)

# New-row initialisers understood by name, beyond `backup_initializer`.
NEW_ROW_MEAN = 'mean'
NEW_ROW_GAUSSIAN = 'gaussian'
NEW_ROW_FRESH = 'fresh'
_NEW_ROW_INITS = (NEW_ROW_MEAN, NEW_ROW_GAUSSIAN, NEW_ROW_FRESH)

Vocab = str | bytes | os.PathLike | Sequence[str] | Sequence[bytes] | Sequence[int] | np.ndarray
Rule = tuple[str, str | None]


@dataclasses.dataclass(frozen=True)
class VocabInfo:
    """How to remap one variable whose vocabulary changed.

    The positional fields and their defaults are those of
    `tf.compat.v1.train.VocabInfo`. A vocabulary is a file path (any
    `tf.io.gfile` path, one token a line; `str`, `bytes` or `os.PathLike`) or
    an in-memory sequence (or 1-D numpy array) of tokens.

    Attributes:
      new_vocab: The new vocabulary: a path, or a sequence of tokens.
      new_vocab_size: How many tokens of `new_vocab` to use (its first lines).
      num_oov_buckets: Out-of-vocabulary rows that follow the new vocabulary;
        they are never copied, always initialised.
      old_vocab: The vocabulary the checkpoint was trained with.
      old_vocab_size: How many tokens of `old_vocab` were used, -1 for all.
        Defaults to `-1`.
      backup_initializer: Initialiser for rows (or columns) with no old
        value. It is called with the variable's full shape, and the missing
        entries are taken from that draw. Defaults to `None` (zeros).
      axis: 0 to remap rows (embeddings, input layers), 1 to remap columns
        (class heads). Defaults to `0`.
      new_row_init: Keyword-only. Instead of `backup_initializer`,
        initialise new rows from the old matrix: `'mean'` (mean of the old
        rows), `'gaussian'` (a normal draw fitted to the old rows' mean and
        standard deviation, per column), `'fresh'` (keep the variable's own
        initial value), or `('copy', token)` to copy a donor token's old row.
        Defaults to `None`.
      seed: Keyword-only. Seed of the `'gaussian'` draw. Defaults to `0`.
      allow_no_overlap: Keyword-only. A remap in which no token of the new
        vocabulary is in the old one copies nothing: it is almost always the
        wrong file (another model's vocabulary, tokens of another form), so it
        is refused unless this is `True`. Defaults to `False`.

    A vocabulary file is read as TensorFlow's vocabulary ops read it: a token
    is a whole line (the `\\n` or `\\r\\n` line end removed, other whitespace
    kept), it must be UTF-8, and an empty line is refused as those ops refuse
    it. A sequence holds `str`, UTF-8 `bytes` or ints (written in decimal, as
    in an `IntegerLookup` vocabulary file); there `''` is a token.
    """

    new_vocab: Vocab
    new_vocab_size: int
    num_oov_buckets: int
    old_vocab: Vocab
    old_vocab_size: int = -1
    backup_initializer: Callable[..., Any] | None = None
    axis: int = 0
    _: dataclasses.KW_ONLY
    new_row_init: str | tuple[str, str] | None = None
    seed: int = 0
    allow_no_overlap: bool = False

    def problems(self, var_name: str) -> list[str]:
        """Returns what is wrong with these fields, one message per problem."""
        out = []
        where = f'VocabInfo for variable {var_name!r}'
        for field in ('new_vocab_size', 'num_oov_buckets', 'old_vocab_size', 'axis'):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int):
                out.append(f'{where}: {field} must be an int. Received: {field}={value!r}')
        if out:
            return out
        if self.axis not in (0, 1):
            out.append(
                f'{where}: axis must be 0 (rows, e.g. embeddings) or 1 (columns, e.g. a class '
                f'head). Received: axis={self.axis!r}'
            )
        if self.new_vocab_size < 0:
            out.append(
                f'{where}: new_vocab_size must be >= 0. Received: '
                f'new_vocab_size={self.new_vocab_size}'
            )
        if self.num_oov_buckets < 0:
            out.append(
                f'{where}: num_oov_buckets must be >= 0. Received: '
                f'num_oov_buckets={self.num_oov_buckets}'
            )
        if self.old_vocab_size < -1 or self.old_vocab_size == 0:
            out.append(
                f'{where}: old_vocab_size must be -1 (every line) or positive. Received: '
                f'old_vocab_size={self.old_vocab_size}'
            )
        out += self._vocab_problems(where)
        if not isinstance(self.allow_no_overlap, bool):
            out.append(
                f'{where}: allow_no_overlap must be True or False. Received: '
                f'allow_no_overlap={self.allow_no_overlap!r}'
            )
        if self.new_row_init is not None:
            ok = self.new_row_init in _NEW_ROW_INITS or (
                isinstance(self.new_row_init, tuple)
                and len(self.new_row_init) == 2
                and self.new_row_init[0] == 'copy'
                and isinstance(self.new_row_init[1], str)
            )
            if not ok:
                out.append(
                    f"{where}: new_row_init must be 'mean', 'gaussian', 'fresh' or "
                    "('copy', token). "
                    f'Received: new_row_init={self.new_row_init!r}'
                )
            elif self.backup_initializer is not None:
                out.append(
                    f'{where}: give backup_initializer or new_row_init, not both. Received: '
                    f'new_row_init={self.new_row_init!r}'
                )
        return out

    def _vocab_problems(self, where: str) -> list[str]:
        out = []
        for field in ('new_vocab', 'old_vocab'):
            value = getattr(self, field)
            if not isinstance(value, (str, bytes, os.PathLike, Sequence, np.ndarray)) or (
                isinstance(value, (str, bytes, os.PathLike)) and not os.fspath(value)
            ):
                out.append(
                    f'{where}: {field} must be a file path or a sequence of tokens. '
                    f'Received: {field}={value!r}'
                )
        return out


def _memory_problems(mb: Any) -> list[str]:
    """What is wrong with a `max_bytes_in_memory` value."""
    if mb is None or mb == AUTO or (isinstance(mb, int) and not isinstance(mb, bool) and mb > 0):
        return []
    return [
        "max_bytes_in_memory must be 'auto', a positive int (bytes) or None (read whole). "
        f'Received: max_bytes_in_memory={mb!r}'
    ]


@dataclasses.dataclass(frozen=True)
class WarmStartSettings:
    """What to warm-start, and from where.

    The positional fields and their defaults are those of
    `tf.estimator.WarmStartSettings`; everything else is keyword-only.

    Attributes:
      ckpt_to_initialize_from: A checkpoint prefix, a directory with a
        `checkpoint` file, or a SavedModel directory; any `tf.io.gfile` path.
      vars_to_warm_start: As in TensorFlow: a regex string selects among the
        trainable variables; a list of regex strings selects among all global
        variables; a list of variables is used as given; `None` selects only
        the variables in `var_name_to_vocab_info`. Defaults to `'.*'`.
      var_name_to_vocab_info: Variable name (or `variable.ref()`) to
        `VocabInfo`. Defaults to `None`.
      var_name_to_prev_var_name: Variable name (or `variable.ref()`) to its
        name in the checkpoint. Defaults to `None`.
      collection: Keyword-only. `'trainable'` or `'all'`: say explicitly which
        variables the regexes in `vars_to_warm_start` select from, whether it
        is a string or a list. Defaults to `None` (TensorFlow's rule).
      rules: Keyword-only. Ordered `(regex, replacement)` pairs mapping a
        variable name to its checkpoint name. A regex must match the whole
        name; the replacement may use backreferences (`\\1`). A replacement of
        `None` keeps the variable's fresh initial value. Every rule must match
        a selected variable, and no variable may match two rules (both are
        reported as problems). Defaults to `()`.
      shape_policy: Keyword-only. On a shape mismatch: `'error'`, `'skip'`
        (keep the fresh value, reported) or `'overlap'` (copy the overlapping
        block, keep the rest fresh). A mapping of variable-name regex to
        policy sets it per variable. Defaults to `'error'`.
      dtype_policy: Keyword-only. On a dtype mismatch: `'error'` or `'cast'`
        (reported). Defaults to `'error'`.
      on_missing: Keyword-only. A selected variable with no tensor in the
        checkpoint: `'error'` or `'skip'` (reported). Defaults to `'error'`.
      strict: Keyword-only. Also require every checkpoint tensor to be used
        or matched by `ignore_checkpoint_keys`. Defaults to `False`.
      ignore_checkpoint_keys: Keyword-only. Regexes of checkpoint tensors that
        `strict` does not ask for. Defaults to `()`.
      include_slots: Keyword-only. Also warm-start optimizer slot variables
        (Adagrad, Adam, Ftrl, ...) of selected variables, remapped like their
        variable. Defaults to `False`.
      remap_backend: Keyword-only. `'numpy'` (fast, memory-bounded) or
        `'tf_ops'` (TensorFlow's `LoadAndRemapMatrix`). Defaults to `'numpy'`.
      max_bytes_in_memory: Keyword-only. How many bytes of old rows a remap
        holds at once; rows are read in chunks of at most this size. `'auto'`
        sizes the chunks from each variable and the memory available (about a
        sixteenth of the variable, from 4 MiB to 64 MiB, and no more than a
        sixteenth of the available memory), so that a remap needs about 1.1x
        the variable's bytes beyond what the model holds. An int sets the
        bound in bytes; `None` reads each tensor whole (fastest, about 2x the
        variable's bytes). Defaults to `'auto'`.
      provenance_dir: Keyword-only. If set, a `warm_start_provenance.json`
        recording the source, its fingerprint and each variable's action is
        written there. Defaults to `None`.
    """

    ckpt_to_initialize_from: str | os.PathLike
    vars_to_warm_start: str | Sequence[Any] | None = '.*'
    var_name_to_vocab_info: Mapping[str, VocabInfo] | None = None
    var_name_to_prev_var_name: Mapping[str, str] | None = None
    _: dataclasses.KW_ONLY
    collection: str | None = None
    rules: Sequence[Rule] = ()
    shape_policy: str | Mapping[str, str] = ERROR
    dtype_policy: str = ERROR
    on_missing: str = ERROR
    strict: bool = False
    ignore_checkpoint_keys: Sequence[str] = ()
    include_slots: bool = False
    remap_backend: str = NUMPY
    max_bytes_in_memory: int | str | None = AUTO
    provenance_dir: str | None = None

    def problems(self) -> list[str]:
        """Returns what is wrong with these settings, before any checkpoint is read."""
        out = []
        ckpt = self.ckpt_to_initialize_from
        if not isinstance(ckpt, (str, os.PathLike)) or not os.fspath(ckpt):
            out.append(
                'ckpt_to_initialize_from must be a non-empty checkpoint path. '
                f'Received: ckpt_to_initialize_from={ckpt!r}'
            )
        if self.collection is not None and self.collection not in _COLLECTIONS:
            out.append(
                f"collection must be 'trainable', 'all' or None. "
                f'Received: collection={self.collection!r}'
            )
        policies = (
            self.shape_policy.values()
            if isinstance(self.shape_policy, Mapping)
            else [self.shape_policy]
        )
        for p in policies:
            if p not in _SHAPE_POLICIES:
                out.append(
                    "shape_policy must be 'error', 'skip' or 'overlap'. "
                    f'Received: shape_policy={p!r}'
                )
        if self.dtype_policy not in _DTYPE_POLICIES:
            out.append(
                f"dtype_policy must be 'error' or 'cast'. "
                f'Received: dtype_policy={self.dtype_policy!r}'
            )
        if self.on_missing not in _MISSING_POLICIES:
            out.append(
                f"on_missing must be 'error' or 'skip'. Received: on_missing={self.on_missing!r}"
            )
        if self.remap_backend not in _BACKENDS:
            out.append(
                f"remap_backend must be 'numpy' or 'tf_ops'. "
                f'Received: remap_backend={self.remap_backend!r}'
            )
        out += _memory_problems(self.max_bytes_in_memory)
        for rule in self.rules:
            if (
                not isinstance(rule, (tuple, list))
                or len(rule) != 2
                or not isinstance(rule[0], str)
                or not (rule[1] is None or isinstance(rule[1], str))
            ):
                out.append(
                    'each rule must be a (regex, replacement-or-None) pair. '
                    f'Received: rule={rule!r}'
                )
        for name, info in (self.var_name_to_vocab_info or {}).items():
            if not isinstance(name, str):
                name = getattr(name, 'deref', lambda n=name: n)()
                name = getattr(name, 'path', None) or getattr(name, 'name', repr(name))
            if not isinstance(info, VocabInfo):
                info = from_tf_vocab_info(info)
            if info is None:
                out.append(
                    'var_name_to_vocab_info values must be VocabInfo. '
                    f'Received: {name!r}: {self.var_name_to_vocab_info[name]!r}'
                )
            else:
                out.extend(info.problems(name))
        return out

    @property
    def vocab_infos(self) -> dict[str, VocabInfo]:
        """`var_name_to_vocab_info` with TensorFlow `VocabInfo`s converted."""
        out = {}
        for name, info in (self.var_name_to_vocab_info or {}).items():
            out[name] = info if isinstance(info, VocabInfo) else from_tf_vocab_info(info)
        return out


def from_tf_vocab_info(info: Any) -> VocabInfo | None:
    """Converts a `tf.compat.v1.train.VocabInfo` (or alike); None if not one."""
    fields = ('new_vocab', 'new_vocab_size', 'num_oov_buckets', 'old_vocab')
    if not all(hasattr(info, f) for f in fields):
        return None
    return VocabInfo(
        new_vocab=info.new_vocab,
        new_vocab_size=info.new_vocab_size,
        num_oov_buckets=info.num_oov_buckets,
        old_vocab=info.old_vocab,
        old_vocab_size=getattr(info, 'old_vocab_size', -1),
        backup_initializer=getattr(info, 'backup_initializer', None),
        axis=getattr(info, 'axis', 0),
    )


def _vocab_info_from_dict(fields: Mapping[str, Any]) -> VocabInfo:
    """A `VocabInfo` from JSON-style fields; a `["copy", token]` list becomes the tuple."""
    fields = dict(fields)
    if isinstance(fields.get('new_row_init'), list):
        fields['new_row_init'] = tuple(fields['new_row_init'])
    return VocabInfo(**fields)


def coerce_settings(value: Any, **overrides: Any) -> WarmStartSettings:
    """Returns `WarmStartSettings` from ours, TensorFlow's, a dict or a path.

    Args:
      value: A `WarmStartSettings`, a `tf.estimator.WarmStartSettings`, a
        JSON-style dict of the fields, or a checkpoint path (all variables).
      **overrides: Keyword-only fields to set on the result.

    Returns:
      The settings.

    Raises:
      WarmStartError: `value` is none of those forms.
    """
    if isinstance(value, WarmStartSettings):
        out = value
    elif isinstance(value, (str, os.PathLike)):
        out = WarmStartSettings(os.fspath(value))
    elif isinstance(value, Mapping):
        known = {f.name for f in dataclasses.fields(WarmStartSettings)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise _errors.WarmStartError(
                [
                    f'unknown settings field(s) {unknown}; expected some of '
                    f'{sorted(known - {"_"})}.' + _errors.did_you_mean(unknown[0], known)
                ],
                'settings',
            )
        fields = dict(value)
        if fields.get('var_name_to_vocab_info'):
            fields['var_name_to_vocab_info'] = {
                k: v if isinstance(v, VocabInfo) else _vocab_info_from_dict(v)
                for k, v in fields['var_name_to_vocab_info'].items()
            }
        if 'rules' in fields:
            fields['rules'] = tuple(tuple(r) for r in fields['rules'])
        out = WarmStartSettings(**fields)
    elif hasattr(value, 'ckpt_to_initialize_from'):
        # tf.estimator.WarmStartSettings (a namedtuple).
        out = WarmStartSettings(
            value.ckpt_to_initialize_from,
            value.vars_to_warm_start,
            dict(value.var_name_to_vocab_info or {}) or None,
            dict(value.var_name_to_prev_var_name or {}) or None,
        )
    else:
        raise _errors.WarmStartError(
            [
                'settings must be a WarmStartSettings, a tf.estimator.WarmStartSettings, a dict '
                f'or a checkpoint path. Received: settings={value!r}'
            ],
            'settings',
        )
    if overrides:
        out = dataclasses.replace(out, **overrides)
    return out
