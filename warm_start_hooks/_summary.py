"""TensorBoard: a warm start's report as text next to the training curves.

Do not import this module directly; use `import warm_start_hooks` instead.

`WarmStartHook` and `WarmStartCallback` write their report with `write`:
two text summaries, `warm_start/report` (the table) and `warm_start/report_json`
(the report as JSON), which TensorBoard's Text tab shows. They are written
with TensorFlow's own summary API, so no `tensorboard` package is needed.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import tensorflow as tf

from warm_start_hooks import _report

SCOPE = 'warm_start'
TABLE_TAG = f'{SCOPE}/report'
JSON_TAG = f'{SCOPE}/report_json'


def markdown(text: str) -> str:
    """`text` as a Markdown code block, which TensorBoard shows as it is."""
    return '\n'.join('    ' + line for line in text.splitlines())


def text_summary(report: _report.WarmStartReport) -> bytes:
    """The report as a serialized `tf.compat.v1.Summary` of two text values."""
    # Summary ops made and run in a graph of their own: the caller's graph may be
    # finalized (a session's), and eager callers get the same bytes.
    with tf.Graph().as_default():
        with tf.name_scope(SCOPE):
            table = tf.compat.v1.summary.text('report', tf.constant(markdown(report.table())))
            data = tf.compat.v1.summary.text('report_json', tf.constant(markdown(report.to_json())))
        merged = tf.compat.v1.summary.merge([table, data])
        with tf.compat.v1.Session() as session:
            return session.run(merged)


def write(report: _report.WarmStartReport, logdir: str | os.PathLike, step: int = 0) -> None:
    """Writes the report as text summaries into an event file in `logdir`.

    In graph mode (a `SessionRunHook`), the summaries go through
    `tf.compat.v1.summary.FileWriterCache`, the writer that the session's own
    summary hooks use for `logdir`: they land in the same event file as the
    training curves (TensorBoard follows one event file per directory as it
    grows). In eager mode (Keras), a writer of its own writes them into a new
    event file in `logdir`, which should be a directory no other writer of
    this process writes to, such as a `TensorBoard` callback's `log_dir`
    (whose own runs are in its `train/` and `validation/` folders).

    Args:
      report: What to write.
      logdir: The directory of the event files.
      step: The training step to file the summaries under.
    """
    data = text_summary(report)
    logdir = os.fspath(logdir)
    if tf.executing_eagerly():
        writer = tf.summary.create_file_writer(logdir)
        with writer.as_default():
            tf.summary.experimental.write_raw_pb(data, step=step)
        writer.close()
    else:
        writer = tf.compat.v1.summary.FileWriterCache.get(logdir)
        writer.add_summary(data, global_step=step)
        writer.flush()


def problems(name: str, directory: Any, write_summary: Any) -> list[str]:
    """What is wrong with a summary directory argument called `name` and a `write_summary` flag."""
    out = []
    if directory is not None and (
        not isinstance(directory, (str, os.PathLike)) or not os.fspath(directory)
    ):
        out.append(
            f'{name} must be a non-empty directory path or None. Received: {name}={directory!r}'
        )
    if not isinstance(write_summary, bool):
        out.append(
            f'write_summary must be True or False. Received: write_summary={write_summary!r}'
        )
    return out


def tensorboard_log_dir(callback: Any, tensorboard: type) -> str | None:
    """The `log_dir` of a `tensorboard` callback in the same Keras `fit` as `callback`.

    Keras gives a callback no reference to the others. `fit` calls each
    callback's `on_train_begin` from its `CallbackList`, so, called from
    there, this finds the list among the calling frames: the first `self`
    whose `callbacks` hold `callback`.

    Args:
      callback: The callback asking, from within its `on_train_begin`.
      tensorboard: The `TensorBoard` callback class of the Keras in use.

    Returns:
      The `log_dir` of the first `tensorboard` instance in that list, or None.
    """
    frame = inspect.currentframe()
    try:
        for _ in range(8):
            frame = frame.f_back if frame is not None else None
            if frame is None:
                return None
            callbacks = getattr(frame.f_locals.get('self'), 'callbacks', None)
            if isinstance(callbacks, (list, tuple)) and any(c is callback for c in callbacks):
                for c in callbacks:
                    log_dir = getattr(c, 'log_dir', None)
                    if isinstance(c, tensorboard) and log_dir:
                        return os.fspath(log_dir)
                return None
        return None
    finally:
        del frame
