"""Optimizer slots: finding a variable's slot variables so that they follow it.

Do not import this module directly; use `import warm_start_hooks` instead.

Three namings are recognised: `tf.compat.v1` optimizers (`emb/Adagrad`,
`emb/Adam_1`, `emb/Ftrl`), Keras 3 (`adam/<path with _>_momentum`) and Keras 2
optimizers (`m/dense/kernel`). Name logic is pure Python.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any

from warm_start_hooks import _settings

_TF1_SLOT = re.compile(r'[A-Z][A-Za-z]*(_\d+)?')
_LOWER_SLOT = re.compile(r'[a-z][a-z_]*')
# Slot names of Keras 2 optimizers, which put the slot first: 'm/dense/kernel'.
_KERAS2_SLOTS = frozenset(
    {
        'm',
        'v',
        'u',
        'vhat',
        'momentum',
        'velocity',
        'accumulator',
        'linear',
        'average_gradient',
        'accumulated_grad',
        'accumulated_delta_var',
    }
)


@dataclasses.dataclass(frozen=True)
class SlotName:
    """How an optimizer slot variable is named after its variable.

    Attributes:
      form: 'tf1' (`var/Adagrad`), 'keras3' (`adam/var_with_underscores_momentum`)
        or 'keras2' (`m/var`).
      slot: The slot's own part of the name (`Adagrad`, `momentum`, `m`).
      optimizer: The optimizer's name, for the keras3 form.
    """

    form: str
    slot: str
    optimizer: str = ''

    def rename(self, var_name: str) -> str:
        """The slot's name for a variable named `var_name`."""
        if self.form == 'tf1':
            return f'{var_name}/{self.slot}'
        if self.form == 'keras3':
            return f'{self.optimizer}/{var_name.replace("/", "_")}_{self.slot}'
        return f'{self.slot}/{var_name}'


class SlotIndex:
    """Finds the variable an optimizer slot belongs to, among known names."""

    def __init__(self, names: Iterable[str]):
        self._names = set(names)
        self._flat = {n.replace('/', '_'): n for n in self._names}

    def parent(self, candidate: str) -> tuple[str, SlotName] | None:
        """(variable name, slot naming) if `candidate` is a slot of a known variable."""
        head, sep, last = candidate.rpartition('/')
        if sep and head in self._names and _TF1_SLOT.fullmatch(last):
            return head, SlotName('tf1', last)
        first, sep, tail = candidate.partition('/')
        if not sep:
            return None
        if tail in self._names and first in _KERAS2_SLOTS:
            return tail, SlotName('keras2', first)
        if '/' not in tail:
            i = tail.rfind('_')
            while i > 0:
                var = self._flat.get(tail[:i])
                if var is not None and _LOWER_SLOT.fullmatch(tail[i + 1 :]):
                    return var, SlotName('keras3', tail[i + 1 :], first)
                i = tail.rfind('_', 0, i)
        return None


@dataclasses.dataclass(frozen=True)
class Slot:
    """A selected slot variable, and the variable it follows.

    Attributes:
      parents: The selected targets named like its variable: one, or several
        when variables share a name (then they must all be treated alike).
      naming: How the slot is named after its variable.
    """

    parents: tuple[Any, ...]
    naming: SlotName


def find_slots(
    settings: _settings.WarmStartSettings, targets: Sequence[Any], with_vocab: Iterable[int]
) -> tuple[dict[int, Slot], list[str]]:
    """Finds the slot variables among `targets` (anything with a `name`).

    Args:
      settings: The settings (the selection decides whether slots can be selected).
      targets: The selected targets.
      with_vocab: ids of the targets that have a VocabInfo.

    Returns:
      id(slot target) -> `Slot`, and problems.
    """
    by_name: dict[str, list[Any]] = {}
    for t in targets:
        by_name.setdefault(t.name, []).append(t)
    index = SlotIndex(by_name)
    slots = {}
    for t in targets:
        found = index.parent(t.name)
        if found is not None:
            parents = tuple(p for p in by_name[found[0]] if p is not t)
            slots[id(t)] = Slot(parents, found[1])
    problems = []
    v = settings.vars_to_warm_start
    over_all = settings.collection == _settings.ALL or (
        settings.collection is None
        and isinstance(v, (list, tuple))
        and v
        and all(isinstance(x, str) for x in v)
    )
    with_slots = {id(p) for slot in slots.values() for p in slot.parents}
    if not over_all and not with_slots & set(with_vocab):
        problems.append(
            'include_slots=True needs the slot variables selected, and slots are not trainable: '
            "select over all variables with collection='all' (or a list of regexes). "
            f'Received: vars_to_warm_start={v!r}, collection={settings.collection!r}'
        )
    return slots, problems
