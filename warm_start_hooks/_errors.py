"""Errors raised by warm_start_hooks.

Do not import this module directly; use `import warm_start_hooks` instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence


class Error(Exception):
    """Base class of every error this library raises."""


class WarmStartError(Error, ValueError):
    """Raised when a warm start cannot be planned; nothing was changed.

    Every problem found is listed in `problems`, so one run shows them all.
    It subclasses `ValueError` because TensorFlow's `warm_start` raises
    `ValueError` for the same conditions, and callers may already catch that.

    Attributes:
      problems: One message per problem.
      context: What was not applied ('warm start', 'init_from_checkpoint', ...).
    """

    def __init__(self, problems: str | Sequence[str], context: str = 'warm start'):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.context = context
        n = len(self.problems)
        lines = [
            f'The {context} was not applied: {n} problem{"s" if n != 1 else ""} found. '
            'No variable was changed.'
        ]
        lines += [f'  {i}. {p}' for i, p in enumerate(self.problems, 1)]
        super().__init__('\n'.join(lines))

    def __reduce__(self) -> tuple[type[WarmStartError], tuple[list[str], str]]:
        # Pickled with its problems, not its message (multiprocessing, distributed jobs).
        return type(self), (self.problems, self.context)

    def with_earlier(self, earlier: Sequence[str]) -> WarmStartError:
        """The same kind of error, listing `earlier` problems before its own."""
        return type(self)([*earlier, *self.problems], self.context)


class CorruptCheckpointError(Error, ValueError):
    """Raised when a checkpoint exists but cannot be read (truncated, bad checksum)."""


class VocabError(Error, ValueError):
    """Raised when a vocabulary file or list cannot be used for a remap."""


class ApplyError(Error, RuntimeError):
    """Raised when applying a valid plan fails; the variables were left as before."""


class FrameworkMissingError(Error, ImportError):
    """Raised when an integration needs a framework that is not installed."""


def raise_if_problems(problems: Iterable[str], context: str = 'warm start') -> None:
    """Raises one `WarmStartError` listing every problem, if there are any."""
    problems = [p for p in problems if p]
    if problems:
        raise WarmStartError(problems, context)


def did_you_mean(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """Returns a ' Did you mean: a, b ?' tip, or '' when nothing is close."""
    import difflib

    candidates = list(candidates)
    close = difflib.get_close_matches(name, candidates, n=n, cutoff=0.6)
    if not close:
        # Fall back to candidates that share the last path component.
        leaf = name.rsplit('/', 1)[-1]
        close = [c for c in candidates if c.rsplit('/', 1)[-1] == leaf][:n]
    return f' Did you mean: {", ".join(close)} ?' if close else ''


def first_line(e: BaseException) -> str:
    """The first line of an exception's message, or its type's name if it has none."""
    text = getattr(e, 'message', None) or str(e)
    text = str(text).strip()
    return text.splitlines()[0] if text else type(e).__name__


# `CheckpointNotFoundError` is also a `tf.errors.NotFoundError`, which is what
# TensorFlow's `warm_start` and `init_from_checkpoint` raise for a missing
# checkpoint. Its class is made when first used, so that this module (and the
# pure modules that import it) do not import TensorFlow.
_LAZY: dict[str, type[WarmStartError]] = {}


def _checkpoint_not_found_error() -> type[WarmStartError]:
    import tensorflow as tf

    class CheckpointNotFoundError(WarmStartError, tf.errors.NotFoundError):
        """Raised when a checkpoint path does not resolve to a readable checkpoint.

        It is a `WarmStartError` (and so a `ValueError`) and a
        `tf.errors.NotFoundError`, as TensorFlow raises for a missing
        checkpoint: code that catches either keeps working, e.g. to train from
        scratch when there is nothing to warm-start from.
        """

        def __init__(self, problems: str | Sequence[str], context: str = 'warm start'):
            WarmStartError.__init__(self, problems, context)
            text = self.args[0]
            # OpError's constructor resets `args`; the message lives in `message`.
            tf.errors.NotFoundError.__init__(self, None, None, text)
            self.args = (text,)

    CheckpointNotFoundError.__module__ = __name__
    CheckpointNotFoundError.__qualname__ = 'CheckpointNotFoundError'
    return CheckpointNotFoundError


def __getattr__(name: str) -> type[WarmStartError]:
    if name == 'CheckpointNotFoundError':
        if name not in _LAZY:
            _LAZY[name] = _checkpoint_not_found_error()
        return _LAZY[name]
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
