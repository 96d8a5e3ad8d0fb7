"""Memory for large values: buffers TensorFlow adopts without a copy; freed memory returned.

Do not import this module directly; use `import warm_start_hooks` instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

# TensorFlow adopts a numpy buffer aligned to this many bytes without copying it
# (`numpy_function` results, `tf.convert_to_tensor`); others are copied.
ALIGNMENT = 64


def empty_aligned(shape: int | Sequence[int], dtype: DTypeLike, zeros: bool = False) -> np.ndarray:
    """A new array whose data starts on an `ALIGNMENT`-byte boundary.

    Large numpy arrays start 16 bytes into a page, so TensorFlow copies them
    when they become tensors: for a numpy_function result that assigns a
    variable, an aligned buffer saves a whole copy of the variable, in time
    and in peak memory.

    Args:
      shape: The array's shape.
      dtype: The array's dtype.
      zeros: Whether to zero it (lazily, as `np.zeros` does).

    Returns:
      A C-contiguous, writable array.
    """
    dt = np.dtype(dtype)
    dims = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    nbytes = dt.itemsize * math.prod(dims)
    raw = (np.zeros if zeros else np.empty)(nbytes + ALIGNMENT, np.uint8)
    skip = -raw.ctypes.data % ALIGNMENT
    return raw[skip : skip + nbytes].view(dt).reshape(dims)


def return_free_memory() -> None:
    """Hands memory the process freed back to the system (glibc's `malloc_trim`).

    glibc keeps freed blocks of up to 32 MiB for the process, so the large
    temporaries of planning (a vocabulary's tokens, hashes and matches) stay
    resident, and a variable's new values would be added on top of them. Called
    before those values are built. Elsewhere than glibc this does nothing.
    """
    try:
        import ctypes

        trim = getattr(ctypes.CDLL(None), 'malloc_trim', None)
        if trim is not None:
            trim(0)
    except (OSError, AttributeError, TypeError):
        pass
