"""Name logic: variable names, partitions, rename rules. Pure Python, no TF.

Do not import this module directly; use `import warm_start_hooks` instead.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from collections.abc import Sequence

from warm_start_hooks import _errors

_PART_RE = re.compile(r'^(.*)/part_(\d+)$')


def strip_output_suffix(name: str) -> str:
    """'scope/w:0' -> 'scope/w'. Names without an output index are unchanged."""
    head, sep, tail = name.rpartition(':')
    return head if sep and tail.isdigit() else name


def split_partition(name: str) -> tuple[str, int | None]:
    """'emb/part_3' -> ('emb', 3); 'emb' -> ('emb', None)."""
    m = _PART_RE.match(name)
    return (m.group(1), int(m.group(2))) if m else (name, None)


def is_global_step(name: str) -> bool:
    """Whether `name` is a global step counter by TensorFlow's convention."""
    return name == 'global_step' or name.endswith('/global_step')


IGNORE = object()  # A rule's target: keep the variable's fresh value.


@dataclasses.dataclass(frozen=True)
class RuleMatch:
    """The outcome of the rules for one variable name.

    Attributes:
      target: The checkpoint name, or `IGNORE`.
      rule_index: Which rule produced it.
    """

    target: object
    rule_index: int


class RenameRules:
    """Ordered `(regex, replacement)` rules, compiled once.

    Each regex must match the whole variable name. The first matching rule
    gives the checkpoint name (`re` backreferences such as `\\1` work); a
    replacement of `None` means "keep the fresh value". Calling the object is
    pure: names in, names out. A warm start also rejects a variable that two
    rules match (`all_matches`), and a rule that matches no variable.

    Example:
      >>> rules = RenameRules([(r'new/(.*)', r'old/\\1'), (r'.*/adam_.*', None)])
      >>> rules('new/dense/kernel').target
      'old/dense/kernel'
    """

    def __init__(self, rules: Sequence[tuple[str, str | None]]):
        self._rules = []
        problems = []
        for i, (pattern, replacement) in enumerate(rules):
            try:
                self._rules.append((re.compile(pattern), replacement))
            except re.error as e:
                problems.append(f'rule {i} has an invalid regex ({e}). Received: {pattern!r}')
        _errors.raise_if_problems(problems, 'rule compilation')
        self.patterns = [p for p, _ in rules]

    def __len__(self) -> int:
        return len(self._rules)

    def all_matches(self, name: str) -> list[RuleMatch]:
        """Every rule that matches `name` in full, in rule order."""
        out = []
        for i, (regex, replacement) in enumerate(self._rules):
            m = regex.fullmatch(name)
            if m:
                target = IGNORE if replacement is None else m.expand(replacement)
                out.append(RuleMatch(target, i))
        return out

    def __call__(self, name: str) -> RuleMatch | None:
        matches = self.all_matches(name)
        return matches[0] if matches else None


def regex_problems(patterns: Iterable[str], what: str) -> list[str]:
    """Messages for patterns that do not compile."""
    out = []
    for p in patterns:
        try:
            re.compile(p)
        except (re.error, TypeError) as e:
            out.append(f'{what} has an invalid regex ({e}). Received: {p!r}')
    return out


def scope_map(ckpt_scope: str, var_scope: str, var_name: str) -> str | None:
    """Maps a variable name under `var_scope` to its name under `ckpt_scope`.

    Implements `init_from_checkpoint`'s scope form `{'old/': 'new/'}`, where
    `'/'` on the checkpoint side is the root scope.

    Args:
      ckpt_scope: Checkpoint scope, ending in '/' (or '/' alone, the root).
      var_scope: Variable scope, ending in '/' (or '' for every variable).
      var_name: The variable's name.

    Returns:
      The checkpoint name, or None if the variable is not under `var_scope`.
    """
    if var_scope and not var_name.startswith(var_scope):
        return None
    rest = var_name[len(var_scope) :]
    prefix = '' if ckpt_scope == '/' else ckpt_scope
    return prefix + rest


def unused(keys: Iterable[str], used: Iterable[str]) -> list[str]:
    """The keys not in `used`, sorted."""
    used = set(used)
    return sorted(k for k in keys if k not in used)
