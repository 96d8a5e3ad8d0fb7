"""Helpers of the command-line tests: checkpoints, vocabulary files, runs of `warm-start`."""

import contextlib
import io
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from warm_start_hooks import _cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

OLD_VOCAB = ['apple', 'banana', 'cherry', 'date']
NEW_VOCAB = ['apple', 'cherry', 'banana', 'elder', 'fig']


def write(path, text):
    with open(path, 'w', newline='') as f:
        f.write(text)
    return path


def vocab_file(directory, name, tokens, end='\n'):
    return write(os.path.join(directory, name), ''.join(t + end for t in tokens))


def name_based(directory, values, global_step=None):
    """Saves `values` (name -> array) with a v1 Saver in a fresh graph; returns the prefix."""
    with tf.Graph().as_default():
        for name, value in values.items():
            tf.compat.v1.get_variable(name, initializer=np.asarray(value))
        if global_step is not None:
            tf.compat.v1.train.get_or_create_global_step()
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return tf.compat.v1.train.Saver().save(
                sess, os.path.join(directory, 'model.ckpt'), global_step=global_step
            )


class Net(tf.Module):
    def __init__(self, rows=4):
        super().__init__()
        self.emb = tf.Variable(
            tf.reshape(tf.range(rows * 3, dtype=tf.float32), [rows, 3]), name='emb'
        )
        self.dense = tf.Module()
        self.dense.kernel = tf.Variable(tf.ones([3, 2]), name='dense/kernel')


def object_based(directory, rows=4):
    return tf.train.Checkpoint(model=Net(rows)).save(os.path.join(directory, 'ckpt'))


def old_values():
    return {
        'emb': np.arange(12, dtype=np.float32).reshape(4, 3),
        'dense/kernel': np.ones((3, 2), np.float32),
        'dense/bias': np.zeros(2, np.float32),
    }


def cli_subprocess(*args):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL='2')
    return subprocess.run(
        [sys.executable, '-m', 'warm_start_hooks', *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def cli_in_process(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = _cli.main(list(args))
        except SystemExit as e:  # argparse
            code = e.code
    return code, out.getvalue(), err.getvalue()


def tf_remapping(new_path, old_path, new_size, old_size=-1):
    remapping, num_present = tf.raw_ops.GenerateVocabRemapping(
        new_vocab_file=new_path,
        old_vocab_file=old_path,
        new_vocab_offset=0,
        num_new_vocab=new_size,
        old_vocab_size=old_size,
    )
    return np.asarray(remapping), int(num_present)
