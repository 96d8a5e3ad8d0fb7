"""Settings: `VocabInfo` and `WarmStartSettings`.

Do not import this module directly; use `import warm_start_hooks` instead.

Both are frozen dataclasses whose positional fields and defaults match
`tf.compat.v1.train.VocabInfo` and `tf.estimator.WarmStartSettings`. Every
option that TensorFlow lacks is keyword-only, and its default keeps
TensorFlow's behaviour. `_coerce` makes them from the other forms users give.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any
from typing import Union

from warm_start_hooks import _lookup
from warm_start_hooks import _validation

if TYPE_CHECKING:
    import numpy as np

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

# A path, or tokens in row order (a 1-D numpy array of str or bytes too).
Vocab = Union[str, bytes, os.PathLike, Sequence[str], Sequence[bytes], Sequence[int], 'np.ndarray']
Rule = tuple[str, str | None]


@dataclasses.dataclass(frozen=True)
class VocabInfo:
    """How to remap one variable whose vocabulary changed.

    The positional fields and their defaults are those of
    `tf.compat.v1.train.VocabInfo`. A vocabulary is a file path (any
    `tf.io.gfile` path, one token a line; `str`, `bytes` or `os.PathLike`) or
    an in-memory sequence (or 1-D numpy array) of tokens.
    A tokenizer (KerasHub's, or anything with `get_vocabulary()`) or what its
    `get_vocabulary()` returns is taken as its tokens in id order; a Keras
    lookup layer as its `get_vocabulary()`, special entries first. For a
    lookup layer's rows, `VocabInfo.from_lookup` maps the mask and OOV rows
    as well.

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

    def __post_init__(self) -> None:
        # A `bytes` vocabulary is a path, as TensorFlow reads it, never a sequence of bytes.
        # Tokenizers, lookup layers and token -> id views become token tuples here,
        # so everything downstream sees a path or a sequence of strings.
        for field in ('new_vocab', 'old_vocab'):
            _decode_path(self, field)
            object.__setattr__(self, field, _lookup.vocab_tokens(getattr(self, field)))

    # VocabInfo.from_lookup(new_lookup, old_vocab, *, old_layout='same', axis=0, ...): the
    # rows of a Keras lookup layer, its mask and OOV rows included (see _lookup.from_lookup).
    from_lookup = classmethod(_lookup.from_lookup)

    def problems(self, var_name: str) -> list[str]:
        """Returns what is wrong with these fields, one message per problem."""
        return _validation.vocab_fields_problems(self, var_name, _NEW_ROW_INITS)


def _memory_problems(mb: Any) -> list[str]:
    """What is wrong with a `max_bytes_in_memory` value."""
    if mb is None or (isinstance(mb, str) and mb == AUTO):
        return []
    if isinstance(mb, int) and not isinstance(mb, bool) and mb > 0:
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

    ckpt_to_initialize_from: str | bytes | os.PathLike
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
    provenance_dir: str | bytes | os.PathLike | None = None

    def __post_init__(self) -> None:
        # `Estimator.export_saved_model()` returns `bytes`; TensorFlow accepts them as paths.
        for field in ('ckpt_to_initialize_from', 'provenance_dir'):
            _decode_path(self, field)

    def problems(self) -> list[str]:
        """Returns what is wrong with these settings, before any checkpoint is read."""
        return [
            *self._field_problems(),
            *_validation.vocab_info_problems(self.var_name_to_vocab_info, _as_vocab_info),
        ]

    def malformed(self) -> bool:
        """Whether a field has a type or form planning cannot use (a list for a dict, a bad regex).

        Planning then stops at the settings' own problems, instead of checking
        the variables and the checkpoint against settings it cannot read. A
        `VocabInfo` with bad fields only leaves out its own variable's remap.
        """
        infos = self.var_name_to_vocab_info
        return bool(
            self._field_problems()
            or _validation.mapping_problems('var_name_to_vocab_info', infos)
            or any(_as_vocab_info(i) is None for i in (infos or {}).values())
        )

    def _field_problems(self) -> list[str]:
        """Problems of every field but the `VocabInfo`s."""
        v = _validation
        return [
            *v.path_problems(
                'ckpt_to_initialize_from', self.ckpt_to_initialize_from, 'checkpoint path'
            ),
            *v.choice_problems('collection', self.collection, (*_COLLECTIONS, None)),
            *v.shape_policy_problems(self.shape_policy, _SHAPE_POLICIES),
            *v.choice_problems('dtype_policy', self.dtype_policy, _DTYPE_POLICIES),
            *v.choice_problems('on_missing', self.on_missing, _MISSING_POLICIES),
            *v.choice_problems('remap_backend', self.remap_backend, _BACKENDS),
            *_memory_problems(self.max_bytes_in_memory),
            *v.flag_problems('strict', self.strict),
            *v.flag_problems('include_slots', self.include_slots),
            *v.path_problems('provenance_dir', self.provenance_dir, 'directory', True),
            *v.rules_problems(self.rules),
            *v.patterns_problems('ignore_checkpoint_keys', self.ignore_checkpoint_keys),
            *v.prev_name_problems(self.var_name_to_prev_var_name),
        ]

    @property
    def vocab_infos(self) -> dict[str, VocabInfo]:
        """`var_name_to_vocab_info` with TensorFlow `VocabInfo`s converted.

        A value that is no `VocabInfo` of either kind is left out; `problems()`
        lists it.
        """
        infos = self.var_name_to_vocab_info
        if not isinstance(infos, Mapping):
            return {}
        converted = {name: _as_vocab_info(info) for name, info in infos.items()}
        return {name: info for name, info in converted.items() if info is not None}


def _decode_path(obj: Any, field: str) -> None:
    """Sets a `bytes` path field of a frozen dataclass to its `str`.

    TensorFlow's file functions take UTF-8 paths; bytes that are not UTF-8 are
    left as they are, and `problems()` reports them.
    """
    value = getattr(obj, field)
    if isinstance(value, bytes):
        try:
            object.__setattr__(obj, field, value.decode('utf-8'))
        except UnicodeDecodeError:
            pass


def _as_vocab_info(info: Any) -> VocabInfo | None:
    return info if isinstance(info, VocabInfo) else from_tf_vocab_info(info)


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
