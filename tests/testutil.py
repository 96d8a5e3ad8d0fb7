"""Helpers shared by the tests: vocabulary files and checkpoints written directly, oracles."""

import os

import numpy as np
import tensorflow as tf


def write_lines(directory, name, lines):
    """Writes `lines` one a line (a vocabulary file) into `directory`; returns the path."""
    path = os.path.join(directory, name)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def write_checkpoint(prefix, tensors):
    """Writes a name-based checkpoint of `tensors` (name -> array) at `prefix`.

    The keys are the names, as a Saver writes them, and the directory's
    `checkpoint` file points to `prefix`. Returns `prefix`.
    """
    names = sorted(tensors)
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[''] * len(names),
        tensors=[tf.constant(tensors[n]) for n in names],
    )
    tf.compat.v1.train.update_checkpoint_state(os.path.dirname(prefix), prefix)
    return prefix


def save_v1_checkpoint(prefix, values, global_step=None):
    """Saves name -> array with a TF1 `Saver`, with a global step, as Estimator does."""
    with tf.Graph().as_default():
        for name, value in values.items():
            tf.compat.v1.get_variable(name, initializer=tf.constant(value))
        tf.compat.v1.train.get_or_create_global_step()
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return tf.compat.v1.train.Saver().save(
                sess, prefix, global_step=global_step, write_meta_graph=False
            )


def remapped_rows(old, old_words, new_words, rows, fill):
    """Numpy oracle: rows of `old` reordered by vocabulary, `fill` for new words."""
    out = np.full((rows, old.shape[1]), fill, old.dtype)
    for i, word in enumerate(new_words):
        if word in old_words:
            out[i] = old[old_words.index(word)]
    return out


class Snapshot(tf.compat.v1.train.SessionRunHook):
    """Records every global variable's value right after the session is created."""

    def begin(self):
        self._variables = tf.compat.v1.global_variables()

    def after_create_session(self, session, coord):
        del coord
        names = [v.name for v in self._variables]
        self.values = dict(zip(names, session.run(self._variables)))
