"""Estimator and `MonitoredTrainingSession` integration: `WarmStartHook`.

`WarmStartHook` is a `tf.compat.v1.train.SessionRunHook`, so it works with
`tf.estimator` (TensorFlow <= 2.15 with tensorflow-estimator) and with a plain
`tf.compat.v1.train.MonitoredTrainingSession` on any TensorFlow 2 release.
`with_warm_start` and `warm_started_estimator` put it into an Estimator, where
it replaces `warm_start_from=`; they import `tf.estimator` only when called.

A warm start never overwrites a model that resumes from its own checkpoint:
the hook overrides variable initializers, and a session runs initializers
only when it restores no checkpoint (TensorFlow issue #18696 is about code
that assigns instead).
"""

from __future__ import annotations

from typing import Any

from warm_start_hooks import _estimator_settings
from warm_start_hooks import _model_fn
from warm_start_hooks._hook import WarmStartHook
from warm_start_hooks._model_fn import EVAL
from warm_start_hooks._model_fn import PREDICT
from warm_start_hooks._model_fn import TRAIN
from warm_start_hooks._model_fn import WarmStartModelFn
from warm_start_hooks._model_fn import warm_started_estimator
from warm_start_hooks._model_fn import with_warm_start

__all__ = [
    'EVAL',
    'PREDICT',
    'TRAIN',
    'WarmStartHook',
    'WarmStartModelFn',
    'tf_warm_start_settings',
    'warm_started_estimator',
    'with_warm_start',
]


def tf_warm_start_settings(settings: Any) -> Any:
    """Returns TensorFlow's `tf.estimator.WarmStartSettings` for `warm_start_from=`.

    `tf.estimator.Estimator(..., warm_start_from=...)` accepts only
    TensorFlow's own settings type: given this library's `WarmStartSettings`
    it raises `ValueError: warm_start_from must be a string or a
    WarmStartSettings`, and it applies what it accepts with
    `tf.compat.v1.train.warm_start`. This converts settings that TensorFlow
    applies exactly as this library does, so the Estimator (a canned class
    stays its class) warm-starts to the same values as with
    `warm_started_estimator`. Everything else is refused, every reason
    listed, rather than dropped: the keyword-only options (`rules`,
    policies, `include_slots`, ...), `VocabInfo`s with `new_row_init`, a
    `backup_initializer` (TensorFlow calls it with another shape), in-memory
    vocabularies or `old_vocab_size` on axis 1, a list selection whose regex
    matches `global_step`, and object-based checkpoints. Use
    `warm_started_estimator` for those; it also gives a report, one error
    listing every problem, and a TensorBoard summary.

    The checkpoint is read (its index only) to check its kind, so it must
    exist when this is called.

    Args:
      settings: A `WarmStartSettings`, a dict of its fields or a checkpoint
        path.

    Returns:
      A `tf.estimator.WarmStartSettings`.

    Raises:
      FrameworkMissingError: `tf.estimator` is not available.
      WarmStartError: The settings are invalid or cannot be applied by
        TensorFlow as they are here (all problems listed).

    Example:
      ```python
      settings = warm_start_hooks.WarmStartSettings(
          'old_model',
          vars_to_warm_start='.*',
          var_name_to_vocab_info={embedding: warm_start_hooks.VocabInfo(
              'new_vocab.txt', 4, 0, 'old_vocab.txt')},
      )
      estimator = tf.estimator.DNNClassifier(
          [8], columns, model_dir='new_model',
          warm_start_from=warm_start_hooks.estimator.tf_warm_start_settings(settings),
      )
      ```
    """
    module = _model_fn.tf_estimator(f'settings={type(settings).__name__}')
    return _estimator_settings.convert(settings, module)
