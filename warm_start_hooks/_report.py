"""`WarmStartReport`: what a warm start did, or would do.

Do not import this module directly; use `import warm_start_hooks` instead.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from absl import logging

from warm_start_hooks import _distribute
from warm_start_hooks import _plan
from warm_start_hooks import _progress


@dataclasses.dataclass(frozen=True)
class WarmStartReport:
    """What a warm start did for each variable.

    Attributes:
      source: The checkpoint prefix read.
      requested: The path as given.
      object_based: Whether the checkpoint is object-based.
      entries: One `PlanEntry` per selected variable.
      unused_keys: Checkpoint tensors that nothing read.
      unused_names: The same tensors as the table names them (object paths through
        the model, for object-based checkpoints).
      applied: False for a dry run (`plan`) or a skipped warm start.
      skipped_reason: Why nothing was applied, when it was skipped.
      mode: 'graph' or 'eager'.
      notes: Things worth knowing that are not errors.
      seconds: Wall time of planning and applying.
    """

    source: str
    requested: str
    object_based: bool
    entries: tuple[_plan.PlanEntry, ...]
    unused_keys: tuple[str, ...] = ()
    applied: bool = True
    skipped_reason: str | None = None
    mode: str = 'graph'
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    unused_names: tuple[str, ...] = ()

    @classmethod
    def from_plan(cls, plan: _plan.Plan, applied: bool, seconds: float = 0.0) -> WarmStartReport:
        return cls(
            source=plan.source.prefix,
            requested=plan.source.requested,
            object_based=plan.source.object_based,
            entries=tuple(plan.entries),
            unused_keys=tuple(plan.unused_keys),
            unused_names=tuple(plan.source.display_name(k) for k in plan.unused_keys),
            applied=applied,
            mode='graph' if plan.graph else 'eager',
            notes=tuple(plan.notes),
            seconds=seconds,
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WarmStartReport:
        """The inverse of `to_dict`: JSON lists become tuples, entries `PlanEntry`s again."""
        fields = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in fields}
        kwargs['entries'] = tuple(_entry_from_dict(e) for e in d['entries'])
        for name in ('unused_keys', 'unused_names', 'notes'):
            kwargs[name] = tuple(d.get(name, ()))
        return cls(**kwargs)

    @classmethod
    def skipped(cls, source: str, reason: str) -> WarmStartReport:
        """A report for a warm start that was deliberately not applied."""
        return cls(
            source=source,
            requested=source,
            object_based=False,
            entries=(),
            applied=False,
            skipped_reason=reason,
        )

    # ---- queries -------------------------------------------------------
    def entry(self, name: str) -> _plan.PlanEntry:
        """The entry of variable `name`, or of the entry with id `name`.

        Raises:
          KeyError: No such variable, or several variables have that name
            (then ask by `PlanEntry.id`, e.g. 'Variable@model/w1').
        """
        for e in self.entries:
            if e.id == name:
                return e
        found = [e for e in self.entries if e.name == name]
        if len(found) == 1:
            return found[0]
        if found:
            raise KeyError(
                f'{len(found)} variables are named {name!r}; ask by id: {[e.id for e in found]}'
            )
        raise KeyError(f'No variable {name!r} in this report. Names: {self.names()}')

    def names(self, action: str | None = None) -> list[str]:
        """Variable names, optionally only those with `action`."""
        return [e.name for e in self.entries if action is None or e.action == action]

    def counts(self) -> dict[str, int]:
        """Number of variables per action."""
        out: dict[str, int] = {}
        for e in self.entries:
            out[e.action] = out.get(e.action, 0) + 1
        return out

    @property
    def bytes_loaded(self) -> int:
        return sum(e.nbytes for e in self.entries if e.action != _plan.SKIP)

    # ---- output --------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        d = dataclasses.asdict(self)
        d['entries'] = [dataclasses.asdict(e) for e in self.entries]
        d['counts'] = self.counts()
        return d

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, default=list)

    def summary(self) -> str:
        """One line: what happened, in counts."""
        if self.skipped_reason:
            return f'Warm start skipped: {self.skipped_reason}'
        counts = ', '.join(f'{n} {a}' for a, n in sorted(self.counts().items())) or 'nothing'
        verb = 'Warm-started' if self.applied else 'Plan (dry run):'
        return (
            f'{verb} {len(self.entries)} variable(s) from {self.source} ({counts}; '
            f'{_progress.human_bytes(self.bytes_loaded)}; {self.seconds:.2f}s)'
        )

    def table(self) -> str:
        """A table for a terminal: one variable a row."""
        rows = [('variable', 'action', 'source', 'shape', 'dtype', 'details')]
        for e in self.entries:
            rows.append(
                (
                    e.name,
                    e.action + (' +cast' if e.cast else ''),
                    e.source_path or _short_key(e.source_key),
                    'x'.join(str(d) for d in e.shape) or 'scalar',
                    e.dtype if not e.cast else f'{e.source_dtype}->{e.dtype}',
                    _details(e),
                )
            )
        lines = [self.summary(), *_format_rows(rows)]
        if self.unused_keys:
            names = self.unused_names or [_short_key(k) for k in self.unused_keys]
            shown = ', '.join(names[:10])
            more = f' (+{len(self.unused_keys) - 10} more)' if len(self.unused_keys) > 10 else ''
            lines.append(f'Unused checkpoint tensors: {shown}{more}')
        lines += [f'Note: {n}' for n in self.notes]
        return '\n'.join(lines)

    def __str__(self) -> str:
        return self.table()

    def log(self) -> None:
        """Logs the table through absl logging."""
        for line in self.table().splitlines():
            logging.info('%s', line)


def _entry_from_dict(e: dict[str, Any]) -> _plan.PlanEntry:
    e = dict(e)
    for name in ('shape', 'source_shape'):
        if e.get(name) is not None:
            e[name] = tuple(e[name])
    if e.get('vocab') is not None:
        e['vocab'] = _plan.VocabStats(**e['vocab'])
    e['parts_detail'] = tuple(_distribute.PartDetail(**p) for p in e.get('parts_detail', ()))
    return _plan.PlanEntry(**e)


def _short_key(key: str | None) -> str:
    """A checkpoint key without the object-based `/.ATTRIBUTES/VARIABLE_VALUE` tail."""
    if key is None:
        return '-'
    return key.removesuffix('/.ATTRIBUTES/VARIABLE_VALUE')


def _details(e: _plan.PlanEntry) -> str:
    parts = []
    if e.vocab is not None:
        v = e.vocab
        what = 'rows' if v.axis == 0 else 'cols'
        parts.append(
            f'{what}: {v.kept} kept, {v.moved} moved, {v.new} new, {v.oov} oov, '
            f'{v.dropped} dropped; init={v.init}'
        )
    if e.parts_detail:
        parts.append(f'{e.partitions} parts: ' + ', '.join(_part(p) for p in e.parts_detail))
    elif e.partitions > 1:
        parts.append(f'{e.partitions} parts')
    if e.renamed_by not in ('same',):
        parts.append(f'via {e.renamed_by}')
    if e.id != e.name and e.path:
        parts.append(f'at {e.path}')  # Variables that share a name.
    if e.reason:
        parts.append(e.reason)
    return '; '.join(parts)


def _part(p: Any) -> str:
    """'rows 0-2 on ps:0 (2 copied, 1 new, 0 oov)' for one part of a variable."""
    where = ''
    if p.device:
        job = p.device.split('/job:')[-1].split('/')[0] if '/job:' in p.device else ''
        task = p.device.split('/task:')[-1].split('/')[0] if '/task:' in p.device else ''
        where = f' on {job}:{task}' if job and task else f' on {p.device}'
    counts = f'{p.copied} copied' + (f', {p.new} new, {p.oov} oov' if p.new or p.oov else '')
    return f'rows {p.offset}-{p.offset + p.rows - 1}{where} ({counts})'


def _format_rows(rows: Sequence[Sequence[str]], max_width: int = 60) -> list[str]:
    """Aligned columns; cells but the last are cut at `max_width` characters."""
    rows = [
        [c if len(c) <= max_width else c[: max_width - 3] + '...' for c in r[:-1]] + [r[-1]]
        for r in rows
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for k, r in enumerate(rows):
        out.append('  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if k == 0:
            out.append('  '.join('-' * w for w in widths))
    return out
