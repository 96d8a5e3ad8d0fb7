#!/usr/bin/env python3
"""Checks that the Bazel BUILD files cover every Python file.

Rules (each folder's BUILD file is checked against the files in that folder):
  * warm_start_hooks/*.py           must be in the srcs of a py_library (or of a
                                     py_binary, e.g. for __main__.py);
  * tests/*_test.py, benchmarks/*_test.py
                                     must be in the srcs of a py_test;
  * every file named in srcs must exist.

BUILD files are Starlark, whose syntax is a subset of Python's, so they are
parsed with the `ast` module. Only literal lists of strings in `srcs` are
understood; anything else (e.g. glob()) is reported as an error.

Usage: python3 tools/check_build_files.py [repo_root]
Exits with status 1 and lists the problems if any are found.
"""

import ast
import pathlib
import sys

# folder -> (rule kinds that may list the files, glob pattern of the files)
CHECKS = {
    'warm_start_hooks': (('py_library', 'py_binary'), '*.py'),
    'tests': (('py_test',), '*_test.py'),
    'benchmarks': (('py_test',), '*_test.py'),
}
PY_RULES = ('py_library', 'py_test', 'py_binary')


def _rule_srcs(build_file: pathlib.Path, display: str, problems: list[str]) -> dict[str, set[str]]:
    """Returns {rule kind: set of srcs} for the Python rules in a BUILD file."""
    try:
        tree = ast.parse(build_file.read_text(), filename=display)
    except SyntaxError as e:
        problems.append(f'{display}: cannot parse: {e}')
        return {}
    srcs_by_kind: dict[str, set[str]] = {kind: set() for kind in PY_RULES}
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in PY_RULES
        ):
            continue
        for keyword in node.keywords:
            if keyword.arg != 'srcs':
                continue
            value = keyword.value
            if isinstance(value, ast.List) and all(
                isinstance(elt, ast.Constant) and isinstance(elt.value, str) for elt in value.elts
            ):
                srcs_by_kind[node.func.id].update(elt.value for elt in value.elts)
            else:
                problems.append(
                    f'{display}:{node.lineno}: {node.func.id} srcs must be a literal '
                    'list of file names'
                )
    return srcs_by_kind


def check(root: pathlib.Path) -> list[str]:
    problems: list[str] = []
    for folder, (kinds, pattern) in CHECKS.items():
        directory = root / folder
        if not directory.is_dir():
            continue
        files = sorted(p.name for p in directory.glob(pattern) if p.is_file())
        build_file = directory / 'BUILD'
        if not build_file.is_file():
            if files:
                problems.append(f'{folder}/BUILD is missing (needed for: {", ".join(files)})')
            continue
        srcs_by_kind = _rule_srcs(build_file, f'{folder}/BUILD', problems)
        listed = set().union(*(srcs_by_kind.get(kind, set()) for kind in kinds))
        for name in files:
            if name not in listed:
                problems.append(
                    f'{folder}/{name}: no {" or ".join(kinds)} in {folder}/BUILD lists it in srcs'
                )
        for rule_kind, srcs in sorted(srcs_by_kind.items()):
            for src in sorted(srcs):
                if not (directory / src).is_file():
                    problems.append(
                        f'{folder}/BUILD: {rule_kind} srcs names {src!r}, which does not exist'
                    )
    return problems


def main(argv: list[str]) -> int:
    if len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = pathlib.Path(argv[1] if len(argv) == 2 else pathlib.Path(__file__).parent.parent)
    problems = check(root.resolve())
    if problems:
        print(f'BUILD files are out of date ({len(problems)} problem(s)):', file=sys.stderr)
        for problem in problems:
            print(f'  {problem}', file=sys.stderr)
        return 1
    print('BUILD files cover all Python sources.')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
