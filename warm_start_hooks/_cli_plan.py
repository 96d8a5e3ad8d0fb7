"""`warm-start plan`: the dry-run report of a warm start, from JSON settings.

Do not import this module directly; use `import warm_start_hooks` instead, or
run `warm-start plan`.

The model is described by another checkpoint or SavedModel: each of its
tensors becomes a zero-initialised stand-in variable in a fresh graph, and the
warm start is planned against those. Nothing is written, and nothing in the
settings file is executed or unpickled: it is JSON.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import TYPE_CHECKING
from typing import Any

from warm_start_hooks import _cli_common
from warm_start_hooks import _cli_inspect
from warm_start_hooks import _coerce
from warm_start_hooks import _errors
from warm_start_hooks import _settings
from warm_start_hooks import _startup

if TYPE_CHECKING:
    import tensorflow as tf

    from warm_start_hooks import _api
else:  # Imported on first use, so that --help and usage errors answer at once.
    tf = _startup.LazyModule('tensorflow')
    _api = _startup.LazyModule('warm_start_hooks._api')

_SLOT_MARK = '.OPTIMIZER_SLOT'
_NON_MODEL_KEYS = ('save_counter' + _cli_inspect.VALUE_SUFFIX,)


def add_parser(sub: Any) -> None:
    """Adds the `plan` subcommand to `sub`, the subparsers of `warm-start`."""
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
    p.set_defaults(handler=run)


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
        raise _cli_common.UsageError(
            'settings file not found or unreadable. Expected a JSON file of WarmStartSettings '
            f'fields. Received: settings={path!r}'
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise _cli_common.UsageError(
            f'settings file is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}. '
            f'Expected a JSON object of WarmStartSettings fields. Received: settings={path!r}'
        ) from None
    if not isinstance(data, dict):
        raise _cli_common.UsageError(
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
    return _coerce.coerce_settings(data)


def _stand_in_names(source: _cli_common.Source) -> list[tuple[str, str]]:
    """(variable name, key) for each model tensor; object-based: saved full names."""
    keys = [k for k in source.keys if _SLOT_MARK not in k and k not in _NON_MODEL_KEYS]
    if not source.object_based:
        return [(k, k) for k in keys]
    aliases = _cli_inspect.names_by_key(source)
    out, used = [], set()
    suffix = _cli_inspect.VALUE_SUFFIX
    for key in keys:
        path = key[: -len(suffix)] if key.endswith(suffix) else key
        saved = [n for n in aliases.get(key, []) if n != path and n not in used]
        name = saved[0] if saved else path
        used.add(name)
        out.append((name, key))
    return out


def stand_in_graph(source: _cli_common.Source, trainable: str = '.*') -> tuple[tf.Graph, list[str]]:
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


def run(args: argparse.Namespace) -> int:
    """Runs `plan` with the parsed `args`; returns the exit status."""
    settings = load_settings(args.settings)
    try:
        re.compile(args.trainable)
    except re.error as e:
        raise _cli_common.UsageError(
            f'--trainable is not a regex: {e}. Received: {args.trainable!r}'
        ) from None
    model = _cli_common.open_source(args.model)
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
        return _cli_common.EXIT_OK
    kind = 'object-based' if model.object_based else 'name-based'
    print(f'Model: {model.prefix} ({kind}, {model_info["variables"]} variables)')
    for n in notes:
        print(f'Note: {n}')
    print(report.table())
    return _cli_common.EXIT_OK
