#!/usr/bin/env python3
"""Checks that the Bazel files are formatted the way buildifier formats them.

buildifier is neither a Debian nor a PyPI package, so this script checks the
parts of its format that the BUILD files here use, which keeps hand-written
and generated files alike (tools/update_build_files.py writes this format):

  1. The file parses (Starlark's syntax is a subset of Python's).
  2. Spaces only; no trailing whitespace; one newline at the end; never two
     blank lines in a row.
  3. Indentation: 4 spaces for each bracket open at the start of a line; a
     line that starts with a closing bracket sits at its opening line's level.
  4. A bracket that spans lines opens at a line's end, holds one element per
     line, ends its last element with a comma, and closes on a line of its
     own. A bracket on one line has no trailing comma.
  5. Strings in double quotes.
  6. `=` with one space on each side: `name = "x"`.
  7. `name` is a rule's first argument.
  8. Lists of labels or files (`srcs`, `deps`, `data`, `visibility`,
     `packages`, `exports_files`) are sorted as buildifier sorts them, without
     duplicates.

Files: BUILD, BUILD.bazel, WORKSPACE and *.bzl, except under .cache, .git and
bazel-* links.

Usage: python3 tools/check_build_format.py [repo_root]
Exits with status 1 and lists the problems if any are found.
"""

import ast
import io
import pathlib
import sys
import tokenize

from update_build_files import label_key

NAMES = ('BUILD', 'BUILD.bazel', 'WORKSPACE')
SKIP = ('.cache', '.git')
SORTED_ARGS = ('srcs', 'deps', 'data', 'visibility', 'packages')
OPEN, CLOSE = '([{', ')]}'
LAYOUT = (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT)


def bazel_files(root: pathlib.Path) -> list[pathlib.Path]:
    out = []
    for path in sorted(root.rglob('*')):
        parts = path.relative_to(root).parts
        if any(p in SKIP or p.startswith('bazel-') for p in parts):
            continue
        if path.is_file() and (path.name in NAMES or path.suffix == '.bzl'):
            out.append(path)
    return out


def check_file(path: pathlib.Path, display: str) -> list[str]:
    """Every formatting problem of one file, as 'file:line: what' lines."""
    text = path.read_text()
    try:
        tree = ast.parse(text, filename=display)
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (SyntaxError, tokenize.TokenError) as e:
        return [f'{display}: does not parse: {e}']
    problems = _whitespace(text) + _tokens(tokens) + _calls(tree)
    return [f'{display}:{line}: {what}' for line, what in sorted(problems)]


def _whitespace(text: str) -> list[tuple[int, str]]:
    out = []
    lines = text.split('\n')
    if not text.endswith('\n') or text.endswith('\n\n'):
        out.append((len(lines), 'the file must end with exactly one newline'))
    for number, line in enumerate(lines, 1):
        if '\t' in line:
            out.append((number, 'tab; indent with spaces'))
        if line != line.rstrip():
            out.append((number, 'trailing whitespace'))
        if number > 1 and not line.strip() and not lines[number - 2].strip():
            if number < len(lines):
                out.append((number, 'two blank lines in a row'))
    return out


def _tokens(tokens: list[tokenize.TokenInfo]) -> list[tuple[int, str]]:
    """Indentation, bracket layout, quotes and `=` spacing, from the token stream."""
    out = []
    stack: list[dict] = []  # Open brackets.
    blocks = 0  # Indented blocks (a def's body in a .bzl file).
    line_start = True
    significant = [t for t in tokens if t.type not in LAYOUT]
    previous = {id(b): a for a, b in zip(significant, significant[1:])}
    following = {id(a): b for a, b in zip(significant, significant[1:])}
    for i, tok in enumerate(tokens):
        if tok.type in (tokenize.NL, tokenize.NEWLINE):
            line_start = True
            continue
        if tok.type in (tokenize.INDENT, tokenize.DEDENT):
            blocks += 1 if tok.type == tokenize.INDENT else -1
            continue
        if tok.type == tokenize.ENDMARKER:
            continue
        if line_start:
            line_start = False
            depth = blocks + sum(1 for b in stack if not b['hug'])
            if tok.string and tok.string in CLOSE:
                depth -= 1
            if tok.start[1] != 4 * depth:
                out.append((tok.start[0], f'indented {tok.start[1]} spaces, expected {4 * depth}'))
        if tok.type == tokenize.STRING and not tok.string.lstrip('rbRB').startswith('"'):
            out.append((tok.start[0], 'use double quotes'))
        if tok.type != tokenize.OP:
            continue
        if tok.string == '=':
            before, after = previous.get(id(tok)), following.get(id(tok))
            if (
                before is None
                or after is None
                or tok.start[1] - before.end[1] != 1
                or after.start[1] - tok.end[1] != 1
            ):
                out.append((tok.start[0], 'write `=` with one space on each side'))
        elif tok.string in OPEN:
            stack.append(_opened(tokens, i))
            if stack[-1]['multi'] and tokens[i + 1].type not in (tokenize.NL, tokenize.COMMENT):
                out.append((tok.start[0], 'a bracket that spans lines must end its line'))
        elif tok.string in CLOSE and stack:
            out += _close(stack.pop(), tok, previous.get(id(tok)), tokens, i)
        elif tok.string == ',' and stack and stack[-1]['multi']:
            if tokens[i + 1].type not in (tokenize.NL, tokenize.COMMENT):
                out.append((tok.start[0], 'one element per line in a bracket that spans lines'))
    return out


def _opened(tokens: list[tokenize.TokenInfo], i: int) -> dict:
    """An open bracket: whether it spans lines, or hugs a single bracketed argument.

    `exports_files([` ... `])` is one level: the call's parenthesis hugs the
    list, which is laid out as any bracket that spans lines.
    """
    close = _match(tokens, i)
    inner = tokens[i + 1]
    hug = inner.type == tokenize.OP and inner.string in OPEN and _match(tokens, i + 1) == close - 1
    multi = not hug and tokens[close].start[0] != tokens[i].start[0]
    return {'token': tokens[i], 'multi': multi, 'hug': hug}


def _close(opened: dict, tok, before, tokens, i) -> list[tuple[int, str]]:
    out = []
    if opened['hug']:
        return out
    empty = before is opened['token']
    if opened['multi']:
        if not empty and before.string != ',':
            out.append((before.end[0], 'a bracket that spans lines needs a trailing comma'))
        if any(t.type not in (tokenize.NL, tokenize.COMMENT) for t in _same_line_before(tokens, i)):
            out.append((tok.start[0], 'a bracket that spans lines closes on a line of its own'))
    elif not empty and before.string == ',':
        out.append((tok.start[0], 'no trailing comma in a bracket on one line'))
    return out


def _same_line_before(tokens, i):
    j = i - 1
    while j >= 0 and tokens[j].start[0] == tokens[i].start[0]:
        if tokens[j].type not in (tokenize.INDENT, tokenize.DEDENT):
            yield tokens[j]
        j -= 1


def _match(tokens: list[tokenize.TokenInfo], i: int) -> int:
    """The index of the bracket that closes the one at `i`."""
    depth = 0
    for j in range(i, len(tokens)):
        tok = tokens[j]
        if tok.type == tokenize.OP and tok.string in OPEN:
            depth += 1
        elif tok.type == tokenize.OP and tok.string in CLOSE:
            depth -= 1
            if depth == 0:
                return j
    return i


def _calls(tree: ast.Module) -> list[tuple[int, str]]:
    """Argument order and sorted lists, from the syntax tree."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        names = [k.arg for k in node.keywords]
        if 'name' in names and (names[0] != 'name' or node.args):
            out.append((node.lineno, '`name` must be the first argument'))
        lists = [(k.arg, k.value) for k in node.keywords if k.arg in SORTED_ARGS]
        if getattr(node.func, 'id', '') == 'exports_files' and node.args:
            lists.append(('exports_files', node.args[0]))
        for arg, value in lists:
            if not isinstance(value, ast.List):
                continue
            items = [e.value for e in value.elts if isinstance(e, ast.Constant)]
            if len(items) != len(value.elts):
                continue
            expected = sorted(set(items), key=label_key)
            if items != expected:
                out.append((value.lineno, f'{arg} must be sorted, without duplicates: {expected}'))
    return out


def main(argv: list[str]) -> int:
    if len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = pathlib.Path(argv[1] if len(argv) == 2 else pathlib.Path(__file__).parent.parent)
    root = root.resolve()
    files = bazel_files(root)
    problems = [p for f in files for p in check_file(f, str(f.relative_to(root)))]
    if problems:
        print(f'Bazel files are not formatted ({len(problems)} problem(s)):', file=sys.stderr)
        for problem in problems:
            print(f'  {problem}', file=sys.stderr)
        return 1
    print(f'{len(files)} Bazel files are formatted.')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
