"""The `warm-start` command line: inspect checkpoints, diff vocabularies, plan.

Do not import this module directly; use `import warm_start_hooks` instead, or
run `warm-start` (or `python -m warm_start_hooks`).

Subcommands (each in a module of its own):
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
import sys
from collections.abc import Sequence

from absl import logging

from warm_start_hooks import _cli_common
from warm_start_hooks import _cli_inspect
from warm_start_hooks import _cli_plan
from warm_start_hooks import _cli_vocab_diff
from warm_start_hooks import _errors
from warm_start_hooks import _startup

PROG = _cli_common.PROG
EXIT_OK = _cli_common.EXIT_OK
EXIT_PROBLEMS = _cli_common.EXIT_PROBLEMS
EXIT_USAGE = _cli_common.EXIT_USAGE


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
    except _cli_common.UsageError as e:
        _error(args.command, str(e))
        return EXIT_USAGE
    except _errors.Error as e:
        _error(args.command, str(e))
        return EXIT_PROBLEMS


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `warm-start`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Inspect checkpoints and vocabularies, and plan warm starts (dry run).',
        epilog='Exit status: 0 ok, 1 problems found, 2 usage error.',
    )
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    _cli_inspect.add_parser(sub)
    _cli_vocab_diff.add_parser(sub)
    _cli_plan.add_parser(sub)
    return parser


def _error(command: str, text: str) -> None:
    print(f'{PROG} {command}: error: {text}', file=sys.stderr)
