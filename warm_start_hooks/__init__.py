"""warm_start_hooks: warm-start TensorFlow models from checkpoints.

One core plans, validates and applies a warm start; `WarmStartHook`
(Estimator, MonitoredTrainingSession) and `WarmStartCallback` (Keras
`model.fit`) are thin wrappers over it.
"""

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

__version__ = '0.1.0'

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


def __getattr__(name):
    # The integrations import their frameworks only when first used.
    if name == 'WarmStartHook':
        from warm_start_hooks.estimator import WarmStartHook

        return WarmStartHook
    if name == 'WarmStartCallback':
        from warm_start_hooks.keras import WarmStartCallback

        return WarmStartCallback
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
