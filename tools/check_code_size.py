#!/usr/bin/env python3
"""Checks that the package's functions and modules stay a readable size.

The project's style: no function over about 60 code lines, no module over
about 400 lines. A longer function is usually two stages that want names;
a longer module, two concepts. Code lines are the lines of a function that
are not blank, not only a comment and not its docstring; a nested function's
lines count for the function around it too.

Usage: python3 tools/check_code_size.py [repo_root]
Exits with status 1 and lists what is too long.
"""

import ast
import pathlib
import sys

PKG = 'warm_start_hooks'
MAX_FUNCTION_CODE_LINES = 60
# "About 400": a module may run a little over while a split waits for its seam.
MAX_MODULE_LINES = 420


def _docstring_lines(node: ast.AST) -> set[int]:
    body = getattr(node, 'body', [])
    if not body or not isinstance(body[0], ast.Expr):
        return set()
    value = body[0].value
    if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
        return set()
    return set(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))


def code_lines(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The code lines of `node` (see the module docstring)."""
    skip = _docstring_lines(node)
    count = 0
    for number in range(node.lineno, (node.end_lineno or node.lineno) + 1):
        text = lines[number - 1].strip()
        if text and not text.startswith('#') and number not in skip:
            count += 1
    return count


def problems(root: pathlib.Path) -> list[str]:
    """What is too long under `root`/warm_start_hooks, one message each."""
    found = []
    for path in sorted((root / PKG).glob('*.py')):
        text = path.read_text()
        lines = text.splitlines()
        name = path.relative_to(root)
        if len(lines) > MAX_MODULE_LINES:
            found.append(
                f'{name}: {len(lines)} lines, over {MAX_MODULE_LINES}; split it along a seam.'
            )
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = code_lines(lines, node)
                if n > MAX_FUNCTION_CODE_LINES:
                    found.append(
                        f'{name}:{node.lineno}: {node.name}() has {n} code lines, over '
                        f'{MAX_FUNCTION_CODE_LINES}; split it into named stages.'
                    )
    return found


def main(argv: list[str]) -> int:
    root = pathlib.Path(argv[0]) if argv else pathlib.Path(__file__).resolve().parent.parent
    found = problems(root)
    for problem in found:
        print(problem)
    if found:
        return 1
    print(
        f'Functions within {MAX_FUNCTION_CODE_LINES} code lines, modules within '
        f'{MAX_MODULE_LINES} lines.'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
