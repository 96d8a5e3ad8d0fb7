"""warm_start_hooks: warm-start TensorFlow models from checkpoints.

One core plans, validates and applies a warm start; `WarmStartHook`
(Estimator, MonitoredTrainingSession) and `WarmStartCallback` (Keras
`model.fit`) are thin wrappers over it.

The public names are imported on first use (PEP 562), so `import
warm_start_hooks` does not import TensorFlow; `warm_start_hooks.warm_start`
and `from warm_start_hooks import warm_start` work as usual.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING
from typing import Any

from warm_start_hooks._version import __version__ as __version__

if TYPE_CHECKING:  # For type checkers and IDEs; at run time, see _PUBLIC below.
    from warm_start_hooks._api import init_from_checkpoint
    from warm_start_hooks._api import plan
    from warm_start_hooks._api import warm_start
    from warm_start_hooks._errors import ApplyError
    from warm_start_hooks._errors import CheckpointNotFoundError
    from warm_start_hooks._errors import CorruptCheckpointError
    from warm_start_hooks._errors import Error
    from warm_start_hooks._errors import FrameworkMissingError
    from warm_start_hooks._errors import VocabError
    from warm_start_hooks._errors import WarmStartError
    from warm_start_hooks._names import RenameRules
    from warm_start_hooks._plan import PlanEntry
    from warm_start_hooks._plan import VocabStats
    from warm_start_hooks._report import WarmStartReport
    from warm_start_hooks._settings import ALL
    from warm_start_hooks._settings import TRAINABLE
    from warm_start_hooks._settings import VocabInfo
    from warm_start_hooks._settings import WarmStartSettings
    from warm_start_hooks._variables import variable_name
    from warm_start_hooks.estimator import WarmStartHook
    from warm_start_hooks.keras import WarmStartCallback

# Public name -> the module that defines it. The integrations import their
# frameworks (tf.estimator, Keras) only when their name is first used.
_PUBLIC = {
    'ALL': '_settings',
    'TRAINABLE': '_settings',
    'ApplyError': '_errors',
    'CheckpointNotFoundError': '_errors',
    'CorruptCheckpointError': '_errors',
    'Error': '_errors',
    'FrameworkMissingError': '_errors',
    'PlanEntry': '_plan',
    'RenameRules': '_names',
    'VocabError': '_errors',
    'VocabInfo': '_settings',
    'VocabStats': '_plan',
    'WarmStartCallback': 'keras',
    'WarmStartError': '_errors',
    'WarmStartHook': 'estimator',
    'WarmStartReport': '_report',
    'WarmStartSettings': '_settings',
    'init_from_checkpoint': '_api',
    'plan': '_api',
    'variable_name': '_variables',
    'warm_start': '_api',
}

__all__ = [
    'ALL',
    'TRAINABLE',
    'ApplyError',
    'CheckpointNotFoundError',
    'CorruptCheckpointError',
    'Error',
    'FrameworkMissingError',
    'PlanEntry',
    'RenameRules',
    'VocabError',
    'VocabInfo',
    'VocabStats',
    'WarmStartCallback',
    'WarmStartError',
    'WarmStartHook',
    'WarmStartReport',
    'WarmStartSettings',
    'init_from_checkpoint',
    'plan',
    'variable_name',
    'warm_start',
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f'{__name__}.{module}'), name)
    elif not name.startswith('__') and importlib.util.find_spec(f'{__name__}.{name}'):
        # A submodule, e.g. `warm_start_hooks.estimator`, as if imported eagerly.
        value = importlib.import_module(f'{__name__}.{name}')
    else:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    globals()[name] = value  # Later lookups do not come back here.
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
