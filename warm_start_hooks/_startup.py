"""Start-up of the command line and the demo: fast, and quiet unless something is wrong.

Do not import this module directly; use `import warm_start_hooks` instead.

Two things stand between a user and a tool's first line of output:

  * Importing TensorFlow takes seconds. `LazyModule` defers a module's import
    to its first use, so `warm-start --help` and usage errors answer at once.
  * TensorFlow's C++ runtime prints notices on stderr while it loads (oneDNN,
    CPU features, CUDA libraries that are not there). From TensorFlow 2.16 on,
    some come before its logging is set up, so `TF_CPP_MIN_LOG_LEVEL` cannot
    hide them. `import_tensorflow()` passes stderr through a line filter while
    TensorFlow loads: known notices are dropped, every other line (warnings,
    errors, tracebacks) is shown as it comes.

Only entry points (`warm-start`, the demo) use this; importing the library
changes nothing in the importing process.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
import threading
import types
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

# TensorFlow's log line prefixes: '2024-01-01 12:00:00.000000: I ' (TF <= 2.15)
# and 'I0000 00:00:1700000000.000000   1234 ' (absl logging, TF >= 2.16).
_PREFIX = r'^(?:\d{4}-\d\d-\d\d [\d:.]+: [IWEF] |[IWEF]\d{4} [\d:.]+\s+\d+ )'
_LOGGED_NOTICES = (
    r'oneDNN custom operations are on',
    r'This TensorFlow binary is optimized',
    r'Unable to register cu(?:DNN|FFT|BLAS) factory',
    r'Could not find cuda drivers on your machine',
    r'TF-TRT Warning: Could not find TensorRT',
    r'Cannot dlopen some GPU libraries',
    r"Could not load dynamic library 'lib(?:cuda|cudart|cublas|cublasLt|cufft|curand|cusolver"
    r'|cusparse|cudnn|nvinfer|nvinfer_plugin)\b',
    r'failed call to cuInit',
    r'computation placer already registered',
)
NOTICES = (
    re.compile(f'{_PREFIX}.*(?:{"|".join(_LOGGED_NOTICES)})'),
    # Lines that TensorFlow prints without a log prefix.
    re.compile(r'^WARNING: All log messages before absl::InitializeLog\(\) is called are written '),
    re.compile(
        r'^To enable the following instructions: .*rebuild TensorFlow with the appropriate '
    ),
)


def is_notice(line: str) -> bool:
    """Whether `line` is one of TensorFlow's start-up notices (not a problem)."""
    return any(p.search(line) for p in NOTICES)


class LazyModule:
    """A module that is imported when one of its attributes is first used.

    Example:
      ```python
      tf = LazyModule('tensorflow')  # Nothing imported yet.
      tf.constant(1)  # Imports tensorflow here.
      ```
    """

    __slots__ = ('_name',)

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f'<module {self._name!r}, imported on first use>'


def import_tensorflow() -> types.ModuleType:
    """Imports TensorFlow with its start-up notices filtered out of stderr.

    `TF_CPP_MIN_LOG_LEVEL` defaults to 1 (TensorFlow's C++ warnings and errors
    are shown, its informational lines are not); a value already set wins.

    Returns:
      The `tensorflow` module.
    """
    if 'tensorflow' in sys.modules:
        return sys.modules['tensorflow']
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')
    with filtered_stderr():
        import tensorflow
    return tensorflow


@contextlib.contextmanager
def filtered_stderr(drop: Callable[[str], bool] = is_notice) -> Iterator[None]:
    """Within the block, lines written to file descriptor 2 for which `drop` is true vanish.

    The filter works on the file descriptor, so it also sees what C++ code
    writes. Lines pass through as they come (a crash loses at most an
    unfinished line).

    Args:
      drop: Called with each line (decoded, with its line end). Defaults to
        `is_notice`.

    Yields:
      Nothing.
    """
    try:
        saved = os.dup(2)
    except OSError:  # No stderr to filter.
        yield
        return
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    pump = threading.Thread(target=_pump, args=(read_end, saved, drop), daemon=True)
    pump.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # Closes the pipe's last write end: the pump reads to its end.
        pump.join(timeout=10)
        os.close(saved)


def _pump(read_end: int, out: int, drop: Callable[[str], bool]) -> None:
    with os.fdopen(read_end, 'rb') as pipe:
        for line in pipe:
            if drop(line.decode('utf-8', 'replace')):
                continue
            view = memoryview(line)
            try:
                while view:
                    view = view[os.write(out, view) :]
            except OSError:
                return
