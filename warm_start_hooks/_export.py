"""Exporting a warm-started Estimator before its first checkpoint.

Do not import this module directly; use `warm_start_hooks.estimator` instead.

An Estimator exports by restoring a checkpoint into the export graph. One that
`warm_started_estimator` made may have none yet: then the warm start is
applied to a freshly initialized copy of the export graph, saved to a
temporary checkpoint, and exported from there. The exported values are the
ones training would start from, as `predict()` and `evaluate()` see them.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import tensorflow as tf
from absl import logging

from warm_start_hooks import _api
from warm_start_hooks import _apply
from warm_start_hooks import _report

# tf.estimator.ModeKeys TRAIN, EVAL and PREDICT, in the order Estimator exports them:
# the first mode with a receiver builds the graph whose variables are saved.
_MODES = ('train', 'eval', 'infer')

_CLASSES: dict[type, type] = {}


def exporting_class(base: type) -> type:
    """`base` (`tf.estimator.Estimator` or its v1) that exports before its first checkpoint.

    An instance needs `_warm_start_model_fn`, the `WarmStartModelFn` it was
    built with (its settings and logging).
    """
    if base not in _CLASSES:
        _CLASSES[base] = type(
            'WarmStartedEstimator',
            (_ExportsWarmStartedValues, base),
            {
                '__module__': 'warm_start_hooks.estimator',
                '__doc__': _ExportsWarmStartedValues.__doc__,
            },
        )
    return _CLASSES[base]


class _ExportsWarmStartedValues:
    """An Estimator made by `warm_started_estimator`.

    Without a checkpoint in `model_dir`, `export_saved_model` (and the other
    exports) export the values the model would start training from: the warm
    start applied to a freshly initialized model, as `predict()` sees them.
    """

    _warm_start_model_fn: Any

    def _export_all_saved_models(  # The one export method Estimator lets subclasses override.
        self,
        export_dir_base: Any,
        input_receiver_fn_map: dict[str, Any],
        assets_extra: Any = None,
        as_text: bool = False,
        checkpoint_path: str | None = None,
        strip_default_attrs: bool = True,
    ) -> Any:
        # Both are the Estimator's, which this class precedes in the made class's bases.
        export = super()._export_all_saved_models  # type: ignore[misc]
        own = checkpoint_path or self.latest_checkpoint()  # type: ignore[attr-defined]
        if own or not any(input_receiver_fn_map.get(m) for m in _MODES):
            return export(
                export_dir_base,
                input_receiver_fn_map,
                assets_extra,
                as_text,
                checkpoint_path,
                strip_default_attrs,
            )
        with tempfile.TemporaryDirectory(prefix='warm_start_export_') as directory:
            prefix = _write_warm_started_checkpoint(self, input_receiver_fn_map, directory)
            return export(
                export_dir_base,
                input_receiver_fn_map,
                assets_extra,
                as_text,
                prefix,
                strip_default_attrs,
            )


def _write_warm_started_checkpoint(estimator: Any, receiver_fns: dict, directory: str) -> str:
    """Saves the warm-started initial values of the graph an export restores into.

    The graph is built as the export builds it (model_fn on the first mode's
    receiver, the same seed), so the saved names are the ones it restores.

    Returns:
      The checkpoint prefix.

    Raises:
      WarmStartError: Planning found problems; nothing was written.
    """
    # pylint: disable=protected-access
    fn = estimator._warm_start_model_fn
    mode = next(m for m in _MODES if receiver_fns.get(m))
    with tf.Graph().as_default() as graph:
        estimator._create_and_assert_global_step(graph)
        tf.compat.v1.random.set_random_seed(estimator.config.tf_random_seed)
        receiver = receiver_fns[mode]()
        spec = estimator._call_model_fn(
            receiver.features, getattr(receiver, 'labels', None), mode, estimator.config
        )
        start = time.perf_counter()
        plan = _api.make_plan(fn.settings)
        _apply.apply(plan)
        # As a session without a checkpoint to restore: init_op, then init_fn.
        scaffold = spec.scaffold
        scaffold.finalize()
        with tf.compat.v1.Session(config=estimator._session_config) as session:
            session.run(scaffold.init_op, feed_dict=scaffold.init_feed_dict)
            if scaffold.init_fn is not None:
                scaffold.init_fn(session)
            prefix = scaffold.saver.save(
                session, os.path.join(directory, 'model.ckpt'), write_meta_graph=False
            )
    if fn._log_report:
        logging.info(
            'No checkpoint in %s yet: exporting the values warm-started from %s.',
            estimator.model_dir,
            plan.source.prefix,
        )
        _report.WarmStartReport.from_plan(
            plan, applied=True, seconds=time.perf_counter() - start
        ).log()
    return prefix
