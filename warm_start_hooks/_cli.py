"""The `warm-start` command line: inspect checkpoints, diff vocabularies, plan.

Do not import this module directly; use `import warm_start_hooks` instead, or
run `warm-start` (or `python -m warm_start_hooks`).

Subcommands:
  inspect CKPT       Tensors, shapes, dtypes and bytes; for an object-based
                     checkpoint, which variable names map to which keys.
  vocab-diff OLD NEW What a `VocabInfo` would do with two vocabularies.
  plan               The dry-run report of a warm start, against the
                     variables of another checkpoint or SavedModel.

Exit codes: 0 success; 1 the warm start would fail (validation problems, a
corrupt checkpoint, an unusable vocabulary); 2 usage errors (bad arguments,
missing files, settings that are not JSON). Nothing given on the command line
is executed or unpickled: settings are JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from absl import logging

from warm_start_hooks import _errors
from warm_start_hooks import _progress
from warm_start_hooks import _settings
from warm_start_hooks import _startup

if TYPE_CHECKING:
    import numpy as np
    import tensorflow as tf

    from warm_start_hooks import _api
    from warm_start_hooks import _checkpoint
    from warm_start_hooks import _keras_file
    from warm_start_hooks import _lookalikes
    from warm_start_hooks import _vocab
else:  # Imported on first use, so that --help and usage errors answer at once.
    np = _startup.LazyModule('numpy')
    tf = _startup.LazyModule('tensorflow')
    _api = _startup.LazyModule('warm_start_hooks._api')
    _checkpoint = _startup.LazyModule('warm_start_hooks._checkpoint')
    _keras_file = _startup.LazyModule('warm_start_hooks._keras_file')
    _lookalikes = _startup.LazyModule('warm_start_hooks._lookalikes')
    _vocab = _startup.LazyModule('warm_start_hooks._vocab')

PROG = 'warm-start'
EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2

_VALUE_SUFFIX = '/.ATTRIBUTES/VARIABLE_VALUE'
_SLOT_MARK = '.OPTIMIZER_SLOT'
_NON_MODEL_KEYS = ('save_counter' + _VALUE_SUFFIX,)


class UsageError(_errors.Error):
    """Raised when the command line cannot be carried out as given (exit 2)."""


# ---- entry points ----------------------------------------------------------


def run(argv: Sequence[str] | None = None) -> None:
    """Runs the command line and exits with its status.

    Args:
      argv: Arguments without the program name. Defaults to `sys.argv[1:]`.

    Raises:
      SystemExit: always; 0 on success, 1 on problems, 2 on usage errors.
    """
    sys.exit(main(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status.

    Args:
      argv: Arguments without the program name. Defaults to `sys.argv[1:]`.

    Returns:
      0 on success, 1 when problems were found, 2 on usage errors. (argparse
      itself exits with 2 on malformed arguments.)
    """
    args = build_parser().parse_args(argv)
    _startup.import_tensorflow()
    logging.set_verbosity(logging.INFO)
    try:
        return args.handler(args)
    except UsageError as e:
        _error(args.command, str(e))
        return EXIT_USAGE
    except _errors.Error as e:
        _error(args.command, str(e))
        return EXIT_PROBLEMS


def _add_vocab_diff_parser(sub) -> None:
    p = sub.add_parser(
        'vocab-diff',
        help='what a VocabInfo would do with two vocabularies',
        description='Counts and samples of kept, moved, new and dropped tokens, the '
        'problems (duplicates, empty lines, no shared token) that would make a warm start fail, '
        'and notes (CRLF line ends, tokens that differ only by surrounding whitespace).',
    )
    p.add_argument('old', metavar='OLD', help='the vocabulary the checkpoint was trained with')
    p.add_argument('new', metavar='NEW', help='the new vocabulary')
    p.add_argument('--old-size', type=int, default=-1, help='old_vocab_size (default: -1, all)')
    p.add_argument('--new-size', type=int, default=None, help='new_vocab_size (default: all)')
    p.add_argument('--oov', type=int, default=0, help='num_oov_buckets (default: 0)')
    p.add_argument('--samples', type=int, default=5, help='tokens shown per group (default: 5)')
    p.add_argument('--variable', default='<variable>', help='variable name used in messages')
    p.add_argument(
        '--allow-no-overlap',
        action='store_true',
        help='VocabInfo(allow_no_overlap=True): no shared token is not a problem',
    )
    p.add_argument('--json', action='store_true', help='print JSON instead of text')
    p.set_defaults(handler=_vocab_diff)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `warm-start`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Inspect checkpoints and vocabularies, and plan warm starts (dry run).',
        epilog='Exit status: 0 ok, 1 problems found, 2 usage error.',
    )
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)

    p = sub.add_parser(
        'inspect',
        help='list the tensors of a checkpoint',
        description='Tensors, shapes, dtypes and bytes of a checkpoint (prefix, directory or '
        'SavedModel); for an object-based checkpoint also which variable names map to which '
        'tensor keys.',
    )
    p.add_argument('ckpt', metavar='CKPT', help='checkpoint prefix, directory or SavedModel')
    p.add_argument('--json', action='store_true', help='print JSON instead of tables')
    p.set_defaults(handler=_inspect)

    _add_vocab_diff_parser(sub)

    p = sub.add_parser(
        'plan',
        help='dry-run a warm start against the variables of a checkpoint or SavedModel',
        description='Builds stand-in variables from MODEL (a checkpoint or SavedModel: names, '
        'shapes and dtypes) in a fresh graph, and reports what a warm start with SETTINGS '
        'would do to them. Nothing is written.',
    )
    p.add_argument(
        '--settings',
        required=True,
        metavar='SETTINGS.json',
        help='WarmStartSettings fields as a JSON object (VocabInfo values as objects)',
    )
    p.add_argument(
        '--model',
        required=True,
        metavar='CKPT_OR_SAVEDMODEL',
        help='checkpoint or SavedModel whose variables stand in for the model',
    )
    p.add_argument(
        '--trainable',
        default='.*',
        metavar='REGEX',
        help='stand-ins whose name matches REGEX (from the start) are trainable, the others '
        'global only (default: .*)',
    )
    p.add_argument('--json', action='store_true', help='print the report as JSON')
    p.set_defaults(handler=_plan)
    return parser


def _error(command: str, text: str) -> None:
    print(f'{PROG} {command}: error: {text}', file=sys.stderr)


def _dump(obj: Any) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True))


# ---- inspect ---------------------------------------------------------------


def _open(path: str) -> _checkpoint.CheckpointSource:
    try:
        return _keras_file.open_keras_file(path) or _checkpoint.CheckpointSource(path)
    except _errors.CheckpointNotFoundError as e:
        raise UsageError(' '.join(e.problems)) from None


def _nbytes(shape: Sequence[int], dtype: tf.DType) -> int | None:
    if dtype == tf.string or not dtype.size:
        return None
    n = dtype.size
    for d in shape:
        n *= d
    return n


def _shape_text(shape: Sequence[int]) -> str:
    return 'x'.join(str(d) for d in shape) or 'scalar'


def names_by_key(source: _checkpoint.CheckpointSource) -> dict[str, list[str]]:
    """Key -> the names (saved full names, object paths) that find it.

    A saved name shared by several tensors (unnamed variables are all
    'Variable') is listed under every one of its tensors.
    """
    out: dict[str, list[str]] = {}
    for name in source.names():
        for key in source.keys_for(name):
            out.setdefault(key, []).append(name)
    return out


def inspect_dict(source: _checkpoint.CheckpointSource) -> dict[str, Any]:
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
    names, repeated = {}, {}
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


def _inspect(args: argparse.Namespace) -> int:
    source = _open(args.ckpt)
    d = inspect_dict(source)
    if args.json:
        _dump(d)
        return EXIT_OK
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
    print('\n'.join(format_table(rows, right=(3,))))
    print(f'Total: {total} bytes ({_progress.human_bytes(total)}) in {len(d["tensors"])} tensors')
    if source.object_based:
        rows = [('saved name', 'object path', 'tensor')]
        for key, names in sorted(names_by_key(source).items()):
            path = source.display_name(key) if key.endswith(_VALUE_SUFFIX) else ''
            saved = ', '.join(n for n in names if n != path) or '-'
            rows.append((saved, path or '-', key))
        print()
        print('Variables: a warm start finds a tensor by its saved name or object path.')
        print('\n'.join(format_table(rows)))
    return EXIT_OK


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


# ---- vocab-diff ------------------------------------------------------------


def _read_vocab(path: str, role: str) -> _vocab.Vocab:
    if not tf.io.gfile.exists(path):
        raise UsageError(
            f'{role} vocabulary file not found. Expected a file with one token a line; check '
            f'the path. Received: {role}={path!r}'
        )
    if tf.io.gfile.isdir(path):
        raise UsageError(
            f'{role} vocabulary is a directory, not a file. Expected a file with one token a '
            f'line; name the file in it. Received: {role}={path!r}'
        )
    return _vocab.read_vocab(path)


def vocab_diff_dict(
    old: _vocab.Vocab,
    new: _vocab.Vocab,
    new_size: int,
    old_size: int = -1,
    oov: int = 0,
    samples: int = 5,
    variable: str = '<variable>',
    allow_no_overlap: bool = False,
) -> dict[str, Any]:
    """What `vocab-diff --json` prints: counts, samples, problems and notes."""
    n_new = min(new_size, len(new))
    remap = _vocab.remapping(new, n_new, old, old_size, oov)
    problems = _vocab.problems(new, new_size, 'new', variable)
    problems += _vocab.problems(old, old_size, 'old', variable)
    if not allow_no_overlap:
        problems += _vocab.overlap_problems(remap, new, old, old_size, variable)
    index = remap.old_index
    at = np.arange(n_new)
    kept = np.flatnonzero(index == at)[:samples]
    moved = np.flatnonzero((index >= 0) & (index != at))[:samples]
    fresh = np.flatnonzero(index < 0)[:samples]
    first = old.classes(old_size)
    hit = np.zeros(len(first), bool)
    hit[first[index[index >= 0]]] = True
    dropped = np.flatnonzero((first == np.arange(len(first))) & ~hit)[:samples]
    notes = [
        f'the {role} vocabulary has CRLF line ends; they are stripped, as TensorFlow does.'
        for role, v in (('old', old), ('new', new))
        if v.crlf
    ]
    notes += _lookalikes.notes(old, new, variable, old_size, n_new, index)
    return {
        'old': {'path': old.source, 'tokens': len(old), 'used': len(first)},
        'new': {'path': new.source, 'tokens': len(new), 'used': new_size, 'oov': oov},
        'counts': {
            'kept': remap.kept,
            'moved': remap.moved,
            'new': remap.new,
            'dropped': remap.dropped,
            'oov': oov,
        },
        'samples': {
            'kept': [new.token(i) for i in kept],
            'moved': [{'token': new.token(i), 'old': int(index[i]), 'new': int(i)} for i in moved],
            'new': [new.token(i) for i in fresh],
            'dropped': [old.token(i) for i in dropped],
        },
        'crlf': {'old': old.crlf, 'new': new.crlf},
        'problems': problems,
        'notes': notes,
        'ok': not problems,
    }


def _vocab_diff(args: argparse.Namespace) -> int:
    old = _read_vocab(args.old, 'old')
    new = _read_vocab(args.new, 'new')
    new_size = len(new) if args.new_size is None else args.new_size
    info = _settings.VocabInfo(args.new, new_size, args.oov, args.old, args.old_size)
    bad = info.problems(args.variable)
    if args.samples < 0:
        bad.append(f'--samples must be >= 0. Received: samples={args.samples}')
    if bad:
        raise UsageError(' '.join(bad))
    d = vocab_diff_dict(
        old,
        new,
        new_size,
        args.old_size,
        args.oov,
        args.samples,
        args.variable,
        args.allow_no_overlap,
    )
    if args.json:
        _dump(d)
    else:
        print('\n'.join(_vocab_diff_lines(d)))
    return EXIT_OK if d['ok'] else EXIT_PROBLEMS


def _vocab_diff_lines(d: dict[str, Any]) -> list[str]:
    o, n, c, s = d['old'], d['new'], d['counts'], d['samples']
    lines = [
        f'old: {o["path"]}: {o["tokens"]} tokens, {o["used"]} used',
        f'new: {n["path"]}: {n["tokens"]} tokens, {n["used"]} used + {n["oov"]} OOV '
        f'bucket(s) = {n["used"] + n["oov"]} rows',
    ]
    moved = [f'{m["token"]!r} ({m["old"]}->{m["new"]})' for m in s['moved']]
    rows = [('', 'count', 'examples')]
    rows.append(('kept', str(c['kept']), _sample(s['kept'], c['kept'])))
    rows.append(('moved', str(c['moved']), _sample(moved, c['moved'], quote=False)))
    rows.append(('new', str(c['new']), _sample(s['new'], c['new'])))
    rows.append(('dropped', str(c['dropped']), _sample(s['dropped'], c['dropped'])))
    rows.append(('oov', str(c['oov']), ''))
    lines += format_table(rows, right=(1,))
    lines += [f'Note: {x}' for x in d['notes']]
    if d['problems']:
        lines.append(
            f'{len(d["problems"])} problem(s); a warm start with this VocabInfo would fail:'
        )
        lines += [f'  {i}. {p}' for i, p in enumerate(d['problems'], 1)]
    else:
        lines.append('No problems: a warm start with this VocabInfo would pass these checks.')
    return lines


def _sample(items: Sequence[str], count: int, quote: bool = True) -> str:
    shown = ', '.join(repr(x) if quote else x for x in items)
    more = count - len(items)
    return shown + (f', ... (+{more})' if more > 0 and items else '')


# ---- plan ------------------------------------------------------------------


def load_settings(path: str) -> _settings.WarmStartSettings:
    """`WarmStartSettings` from a JSON file; nothing in it is executed.

    Args:
      path: A JSON object whose keys are `WarmStartSettings` fields;
        `var_name_to_vocab_info` values are objects of `VocabInfo` fields
        (`new_row_init: ["copy", "token"]` for a donor row).

    Returns:
      The settings (not yet validated against a checkpoint).

    Raises:
      UsageError: the file is missing or is not a JSON object.
      WarmStartError: a field is unknown or cannot be given in JSON.
    """
    try:
        with tf.io.gfile.GFile(path, 'r') as f:
            text = f.read()
    except tf.errors.OpError:
        raise UsageError(
            'settings file not found or unreadable. Expected a JSON file of WarmStartSettings '
            f'fields. Received: settings={path!r}'
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(
            f'settings file is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}. '
            f'Expected a JSON object of WarmStartSettings fields. Received: settings={path!r}'
        ) from None
    if not isinstance(data, dict):
        raise UsageError(
            'settings must be a JSON object of WarmStartSettings fields, e.g. '
            '{"ckpt_to_initialize_from": "/tmp/model"}. '
            f'Received: settings of JSON type {type(data).__name__}'
        )
    # Fields of the wrong type are listed by the plan with every other problem.
    infos = data.get('var_name_to_vocab_info')
    problems = [
        f'VocabInfo for {name!r}: backup_initializer cannot be given in JSON (it would have '
        "to run code). Use new_row_init: 'mean', 'gaussian', 'fresh' or ['copy', token]. "
        f'Received: backup_initializer={info["backup_initializer"]!r}'
        for name, info in (infos.items() if isinstance(infos, dict) else ())
        if isinstance(info, dict) and info.get('backup_initializer') is not None
    ]
    _errors.raise_if_problems(problems)
    return _settings.coerce_settings(data)


def _stand_in_names(source: _checkpoint.CheckpointSource) -> list[tuple[str, str]]:
    """(variable name, key) for each model tensor; object-based: saved full names."""
    keys = [k for k in source.keys if _SLOT_MARK not in k and k not in _NON_MODEL_KEYS]
    if not source.object_based:
        return [(k, k) for k in keys]
    aliases = names_by_key(source)
    out, used = [], set()
    for key in keys:
        path = key[: -len(_VALUE_SUFFIX)] if key.endswith(_VALUE_SUFFIX) else key
        saved = [n for n in aliases.get(key, []) if n != path and n not in used]
        name = saved[0] if saved else path
        used.add(name)
        out.append((name, key))
    return out


def stand_in_graph(
    source: _checkpoint.CheckpointSource, trainable: str = '.*'
) -> tuple[tf.Graph, list[str]]:
    """A fresh graph with one zero-initialised variable per model tensor of `source`.

    Args:
      source: The model description: a checkpoint or SavedModel's variables.
      trainable: Regex; matching names (from the start) are trainable.

    Returns:
      The graph, and notes on tensors that got no stand-in.
    """
    graph = tf.Graph()
    notes = []
    regex = re.compile(trainable)
    with graph.as_default():
        for name, key in _stand_in_names(source):
            dtype = source.dtypes[key]
            if not (dtype.is_floating or dtype.is_integer or dtype.is_bool or dtype.is_complex):
                notes.append(f'{key!r} ({dtype.name}) has no stand-in variable.')
                continue
            try:
                v = tf.compat.v1.get_variable(
                    name,
                    shape=source.shapes[key],
                    dtype=dtype,
                    initializer=tf.compat.v1.zeros_initializer(),
                    trainable=bool(regex.match(name)),
                )
            except ValueError as e:
                notes.append(f'{key!r} has no stand-in variable {name!r}: {e}')
                continue
            if v.name != name + ':0':
                notes.append(f'the stand-in of {key!r} is named {v.name[:-2]!r}, not {name!r}.')
    return graph, notes


def _plan(args: argparse.Namespace) -> int:
    settings = load_settings(args.settings)
    try:
        re.compile(args.trainable)
    except re.error as e:
        raise UsageError(f'--trainable is not a regex: {e}. Received: {args.trainable!r}') from None
    model = _open(args.model)
    graph, notes = stand_in_graph(model, args.trainable)
    with graph.as_default():
        report = _api.plan(settings)
    model_info = {
        'path': model.prefix,
        'object_based': model.object_based,
        'variables': len(graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)),
        'notes': notes,
    }
    if args.json:
        d = report.to_dict()
        d['model'] = model_info
        print(json.dumps(d, indent=2, sort_keys=True, default=list))
        return EXIT_OK
    kind = 'object-based' if model.object_based else 'name-based'
    print(f'Model: {model.prefix} ({kind}, {model_info["variables"]} variables)')
    for n in notes:
        print(f'Note: {n}')
    print(report.table())
    return EXIT_OK
