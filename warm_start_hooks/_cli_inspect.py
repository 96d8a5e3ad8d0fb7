"""`warm-start inspect`: the tensors of a checkpoint, and the names that find them.

Do not import this module directly; use `import warm_start_hooks` instead, or
run `warm-start inspect`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from warm_start_hooks import _cli_common
from warm_start_hooks import _progress
from warm_start_hooks import _startup

if TYPE_CHECKING:
    import tensorflow as tf
else:  # Imported on first use, so that --help and usage errors answer at once.
    tf = _startup.LazyModule('tensorflow')

# The key suffix of a variable's value in an object-based checkpoint.
VALUE_SUFFIX = '/.ATTRIBUTES/VARIABLE_VALUE'


def add_parser(sub: Any) -> None:
    """Adds the `inspect` subcommand to `sub`, the subparsers of `warm-start`."""
    p = sub.add_parser(
        'inspect',
        help='list the tensors of a checkpoint',
        description='Tensors, shapes, dtypes and bytes of a checkpoint (prefix, directory or '
        'SavedModel); for an object-based checkpoint also which variable names map to which '
        'tensor keys.',
    )
    p.add_argument('ckpt', metavar='CKPT', help='checkpoint prefix, directory or SavedModel')
    p.add_argument('--json', action='store_true', help='print JSON instead of tables')
    p.set_defaults(handler=run)


def _nbytes(shape: Sequence[int], dtype: tf.DType) -> int | None:
    if dtype == tf.string or not dtype.size:
        return None
    n = dtype.size
    for d in shape:
        n *= d
    return n


def _shape_text(shape: Sequence[int]) -> str:
    return 'x'.join(str(d) for d in shape) or 'scalar'


def names_by_key(source: _cli_common.Source) -> dict[str, list[str]]:
    """Key -> the names (saved full names, object paths) that find it.

    A saved name shared by several tensors (unnamed variables are all
    'Variable') is listed under every one of its tensors.
    """
    out: dict[str, list[str]] = {}
    for name in source.names():
        for key in source.keys_for(name):
            out.setdefault(key, []).append(name)
    return out


def inspect_dict(source: _cli_common.Source) -> dict[str, Any]:
    """What `inspect --json` prints.

    `names` maps each name that finds one tensor to its key; `repeated_names`
    maps each saved name shared by several tensors to all of their keys.
    """
    tensors = []
    total = 0
    for key in source.keys:
        shape, dtype = source.shapes[key], source.dtypes[key]
        n = _nbytes(shape, dtype)
        total += n or 0
        tensors.append({'key': key, 'shape': list(shape), 'dtype': dtype.name, 'bytes': n})
    names: dict[str, str] = {}
    repeated: dict[str, list[str]] = {}
    if source.object_based:
        for name in source.names():
            keys = source.keys_for(name)
            if len(keys) == 1:
                names[name] = keys[0]
            elif keys:
                repeated[name] = keys
    return {
        'checkpoint': source.prefix,
        'requested': source.requested,
        'object_based': source.object_based,
        'tensors': tensors,
        'total_bytes': total,
        'names': names,
        'repeated_names': repeated,
    }


def run(args: argparse.Namespace) -> int:
    """Runs `inspect` with the parsed `args`; returns the exit status."""
    source = _cli_common.open_source(args.ckpt)
    d = inspect_dict(source)
    if args.json:
        _cli_common.dump_json(d)
        return _cli_common.EXIT_OK
    kind = 'object-based' if source.object_based else 'name-based'
    total = d['total_bytes']
    print(
        f'Checkpoint {source.prefix}: {kind}, {len(d["tensors"])} tensors, '
        f'{_progress.human_bytes(total)}'
    )
    rows = [('tensor', 'shape', 'dtype', 'bytes')]
    for t in d['tensors']:
        n = t['bytes']
        rows.append((t['key'], _shape_text(t['shape']), t['dtype'], '?' if n is None else str(n)))
    print('\n'.join(_cli_common.format_table(rows, right=(3,))))
    print(f'Total: {total} bytes ({_progress.human_bytes(total)}) in {len(d["tensors"])} tensors')
    if source.object_based:
        print()
        print('Variables: a warm start finds a tensor by its saved name or object path.')
        print('\n'.join(_cli_common.format_table(_name_rows(source))))
    return _cli_common.EXIT_OK


def _name_rows(source: _cli_common.Source) -> list[tuple[str, str, str]]:
    rows = [('saved name', 'object path', 'tensor')]
    for key, names in sorted(names_by_key(source).items()):
        path = source.display_name(key) if key.endswith(VALUE_SUFFIX) else ''
        saved = ', '.join(n for n in names if n != path) or '-'
        rows.append((saved, path or '-', key))
    return rows
