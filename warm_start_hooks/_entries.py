"""Plan entries: what happens to one variable, as plain data.

Do not import this module directly; use `import warm_start_hooks` instead.
"""

from __future__ import annotations

import dataclasses

from warm_start_hooks import _distribute

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
      name: The variable's name, as users write it. Names may repeat.
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
      renamed_by: What gave the source: 'same' (its name), 'var_name_to_prev_var_name',
        'rule N', 'assignment_map', 'slot of X', 'object path' (the object graph, as
        `tf.train.Checkpoint.restore` finds it) or 'saved name' (the name it was saved
        under, in an object-based checkpoint).
      parts_detail: For a variable stored in several parts (partitions, PS
        shards): each part's rows, device and row counts.
      id: Unique within a plan: the name, or for variables that share a name,
        the name and the variable's object path ('Variable@model/w1').
      path: The variable's object path in the model it was found in, if known.
      source_path: How reports name the source tensor: its object path through
        the saved model, for object-based checkpoints.
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
    id: str = ''
    path: str | None = None
    source_path: str | None = None

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, 'id', self.name)
