"""Helpers shared by the Keras tests: which Keras flavours and backend are here.

A flavour is a Keras package a model is built with: `keras` (Keras 3 on
TensorFlow >= 2.16, Keras 2 on TensorFlow 2.15) or `tf_keras` (Keras 2 on
TensorFlow >= 2.16). Keras 3 runs on the backend `KERAS_BACKEND` names; Keras 2
always on TensorFlow.
"""

import importlib
import os

import numpy as np
import tensorflow as tf


def importable(module):
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False


HAS_KERAS = importable('keras')
HAS_TF_KERAS = importable('tf_keras')
KERAS_3 = HAS_KERAS and importlib.import_module('keras').__version__.startswith('3.')
BACKEND = importlib.import_module('keras').backend.backend() if KERAS_3 else 'tensorflow'
TF_BACKEND = BACKEND == 'tensorflow'
# Keras 2 runs on TensorFlow whatever KERAS_BACKEND says: a run on another
# backend tests Keras 3 only.
KERAS_2_FLAVOUR = 'tf_keras' if KERAS_3 else ('keras' if HAS_KERAS else None)
KERAS_2_SKIP = (
    f'Keras 2 always runs on TensorFlow; this run tests Keras 3 on the {BACKEND} backend'
    if not TF_BACKEND
    else 'no Keras 2 package here (tf_keras on TensorFlow >= 2.16, tf.keras on 2.15)'
)
HAS_KERAS_2 = KERAS_2_FLAVOUR is not None and importable(KERAS_2_FLAVOUR) and TF_BACKEND


def flavour_module(flavour):
    """The Keras module of a flavour: 'keras3' -> keras, 'keras2' -> tf.keras / tf_keras."""
    return importlib.import_module('keras' if flavour == 'keras3' else KERAS_2_FLAVOUR)


def name(v):
    """The name the library uses: Keras 3 `path`, else the name without ':0'."""
    path = getattr(v, 'path', None)
    return path if isinstance(path, str) else v.name.rsplit(':', 1)[0]


def randomize(model, seed):
    """Gives every variable of `model` distinct random values (variances positive)."""
    rng = np.random.default_rng(seed)
    for v in model.variables:
        value = rng.normal(size=tuple(v.shape)).astype(np.float32)
        if 'variance' in name(v):
            value = np.abs(value) + 0.5
        v.assign(value)


def save(model, directory, how):
    """Saves `model`'s weights; returns the source path.

    Args:
      model: A built Keras model.
      directory: Where to write.
      how: 'checkpoint' (`tf.train.Checkpoint(model=...)`, TensorFlow models
        only), 'weights_h5' (Keras 3 `save_weights('x.weights.h5')`).
    """
    if how == 'checkpoint':
        return tf.train.Checkpoint(model=model).write(os.path.join(directory, 'ckpt'))
    path = os.path.join(directory, 'old.weights.h5')
    model.save_weights(path)
    return path


def predict(model, x):
    """The model's outputs on `x` as numpy (a direct call: no tf.data, any backend)."""
    out = model(x, training=False)
    if isinstance(out, dict):
        return {k: to_numpy(v) for k, v in out.items()}
    return to_numpy(out)


def to_numpy(x):
    """A tensor of any backend (TensorFlow, JAX, PyTorch) as numpy."""
    if KERAS_3 and not isinstance(x, (tf.Tensor, np.ndarray)):
        import keras

        return np.asarray(keras.ops.convert_to_numpy(x))
    return np.asarray(x)
