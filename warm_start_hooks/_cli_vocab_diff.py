"""`warm-start vocab-diff`: what a `VocabInfo` would do with two vocabularies.

Do not import this module directly; use `import warm_start_hooks` instead, or
run `warm-start vocab-diff`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from warm_start_hooks import _cli_common
from warm_start_hooks import _settings
from warm_start_hooks import _startup

if TYPE_CHECKING:
    import numpy as np
    import tensorflow as tf

    from warm_start_hooks import _lookalikes
    from warm_start_hooks import _vocab
else:  # Imported on first use, so that --help and usage errors answer at once.
    np = _startup.LazyModule('numpy')
    tf = _startup.LazyModule('tensorflow')
    _lookalikes = _startup.LazyModule('warm_start_hooks._lookalikes')
    _vocab = _startup.LazyModule('warm_start_hooks._vocab')


def add_parser(sub: Any) -> None:
    """Adds the `vocab-diff` subcommand to `sub`, the subparsers of `warm-start`."""
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
    p.set_defaults(handler=run)


def _read_vocab(path: str, role: str) -> _vocab.Vocab:
    if not tf.io.gfile.exists(path):
        raise _cli_common.UsageError(
            f'{role} vocabulary file not found. Expected a file with one token a line; check '
            f'the path. Received: {role}={path!r}'
        )
    if tf.io.gfile.isdir(path):
        raise _cli_common.UsageError(
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


def run(args: argparse.Namespace) -> int:
    """Runs `vocab-diff` with the parsed `args`; returns the exit status."""
    old = _read_vocab(args.old, 'old')
    new = _read_vocab(args.new, 'new')
    new_size = len(new) if args.new_size is None else args.new_size
    info = _settings.VocabInfo(args.new, new_size, args.oov, args.old, args.old_size)
    bad = info.problems(args.variable)
    if args.samples < 0:
        bad.append(f'--samples must be >= 0. Received: samples={args.samples}')
    if bad:
        raise _cli_common.UsageError(' '.join(bad))
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
        _cli_common.dump_json(d)
    else:
        print('\n'.join(_vocab_diff_lines(d)))
    return _cli_common.EXIT_OK if d['ok'] else _cli_common.EXIT_PROBLEMS


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
    lines += _cli_common.format_table(rows, right=(1,))
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
