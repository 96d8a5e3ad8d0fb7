"""What the `warm-start` subcommands share: exit codes, usage errors, sources, output.

Do not import this module directly; use `import warm_start_hooks` instead, or
run `warm-start` (or `python -m warm_start_hooks`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from warm_start_hooks import _errors
from warm_start_hooks import _startup

if TYPE_CHECKING:
    from warm_start_hooks import _checkpoint
    from warm_start_hooks import _h5
    from warm_start_hooks import _keras_file

    # What the subcommands read: a checkpoint or SavedModel, or a Keras weights file.
    Source = _checkpoint.CheckpointSource | _h5.H5Source
else:  # Imported on first use, so that --help and usage errors answer at once.
    _checkpoint = _startup.LazyModule('warm_start_hooks._checkpoint')
    _keras_file = _startup.LazyModule('warm_start_hooks._keras_file')

PROG = 'warm-start'
EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


class UsageError(_errors.Error):
    """Raised when the command line cannot be carried out as given (exit 2)."""


def open_source(path: str) -> Source:
    """The checkpoint, SavedModel or Keras file at `path`.

    Raises:
      UsageError: Nothing readable is there.
      CorruptCheckpointError: It is there but cannot be read.
    """
    try:
        return _keras_file.open_keras_file(path) or _checkpoint.CheckpointSource(path)
    except _errors.CheckpointNotFoundError as e:
        raise UsageError(' '.join(e.problems)) from None


def dump_json(obj: Any) -> None:
    """Prints `obj` as indented JSON with sorted keys."""
    print(json.dumps(obj, indent=2, sort_keys=True))


def format_table(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Rows as aligned columns, a rule under the first; columns in `right` right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for k, r in enumerate(rows):
        cells = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))
        ]
        out.append('  '.join(cells).rstrip())
        if k == 0:
            out.append('  '.join('-' * w for w in widths))
    return out
