"""End-to-end demo: train, change the vocabulary, warm-start, print the report.

Run it with `python -m warm_start_hooks.demo` (or `./dev demo`). It uses only
local files: a small Keras text classifier is trained on made-up data, saved
with `tf.train.Checkpoint`; then the token vocabulary and the class list
change, a new model is warm-started from the checkpoint with the embedding
rows remapped by token (axis 0) and the output columns remapped by class
(axis 1), and the report is printed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np
from absl import app
from absl import flags
from absl import logging

import warm_start_hooks as wsh
from warm_start_hooks import _startup

# TensorFlow, without the notices its C++ runtime prints while it loads.
tf = _startup.import_tensorflow()

_WORKDIR = flags.DEFINE_string('workdir', None, 'Where files go. Defaults to a new temp dir.')
_STEPS = flags.DEFINE_integer('epochs', 3, 'Training epochs of the first model.')

OLD_TOKENS = ['good', 'bad', 'great', 'awful', 'fine', 'meh', 'love', 'hate']
NEW_TOKENS = ['love', 'great', 'good', 'fine', 'meh', 'bad', 'awful', 'superb', 'dire']
OLD_CLASSES = ['negative', 'neutral', 'positive']
NEW_CLASSES = ['positive', 'negative', 'neutral', 'mixed']
_SENTIMENT = {
    'good': 2,
    'great': 2,
    'love': 2,
    'fine': 1,
    'meh': 1,
    'bad': 0,
    'awful': 0,
    'hate': 0,
}


def _keras() -> Any:
    try:
        import keras  # Keras 3, or Keras 2 on TF <= 2.15.

        return keras
    except ImportError:  # pragma: no cover
        return tf.keras


def build_model(num_tokens: int, num_classes: int, name: str) -> Any:
    """A bag-of-embeddings classifier: ids [batch, 4] -> class logits."""
    keras = _keras()
    return keras.Sequential(
        [
            keras.Input((4,), dtype='int32'),
            keras.layers.Embedding(num_tokens, 8, name='emb'),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(num_classes, name='head'),
        ],
        name=name,
    )


def _data(rng: np.random.Generator, n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    ids = rng.integers(0, len(OLD_TOKENS), size=(n, 4))
    labels = np.array(
        [np.bincount([_SENTIMENT[OLD_TOKENS[i]] for i in row], minlength=3).argmax() for row in ids]
    )
    return ids.astype('int32'), labels


def write_vocab(path: str, tokens: list[str]) -> str:
    with tf.io.gfile.GFile(path, 'w') as f:
        f.write('\n'.join(tokens) + '\n')
    return path


def run_demo(workdir: str, epochs: int = 3) -> wsh.WarmStartReport:
    """Runs the whole demo in `workdir`; returns the warm start's report."""
    keras = _keras()
    rng = np.random.default_rng(0)
    old_vocab = write_vocab(os.path.join(workdir, 'tokens_v1.txt'), OLD_TOKENS)
    new_vocab = write_vocab(os.path.join(workdir, 'tokens_v2.txt'), NEW_TOKENS)
    old_classes = write_vocab(os.path.join(workdir, 'classes_v1.txt'), OLD_CLASSES)
    new_classes = write_vocab(os.path.join(workdir, 'classes_v2.txt'), NEW_CLASSES)

    print(f'1. Training a classifier over {len(OLD_TOKENS)} tokens and {len(OLD_CLASSES)} classes.')
    old = build_model(len(OLD_TOKENS) + 1, len(OLD_CLASSES), 'classifier')  # +1 OOV row.
    old.compile(
        optimizer=keras.optimizers.Adam(0.05),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=['accuracy'],
    )
    ids, labels = _data(rng)
    history = old.fit(ids, labels, epochs=epochs, batch_size=32, verbose=0)
    print(f'   accuracy after {epochs} epochs: {history.history["accuracy"][-1]:.2f}')
    prefix = tf.train.Checkpoint(model=old).save(os.path.join(workdir, 'v1', 'ckpt'))
    print(f'   checkpoint: {prefix}')

    print(
        f'2. The vocabulary changed: {len(NEW_TOKENS)} tokens (2 new, "hate" dropped, order '
        f'shuffled); classes are now {NEW_CLASSES}.'
    )
    new = build_model(len(NEW_TOKENS) + 1, len(NEW_CLASSES), 'classifier')
    emb, kernel = new.get_layer('emb').embeddings, new.get_layer('head').kernel

    print('3. Warm-starting the new model: embedding rows by token, head columns by class.')
    report = wsh.warm_start(
        wsh.WarmStartSettings(
            prefix,
            vars_to_warm_start=[emb, kernel],  # Variables may be given as objects.
            var_name_to_vocab_info={
                wsh.variable_name(emb): wsh.VocabInfo(new_vocab, len(NEW_TOKENS), 1, old_vocab),
                wsh.variable_name(kernel): wsh.VocabInfo(
                    new_classes, len(NEW_CLASSES), 0, old_classes, axis=1, new_row_init='mean'
                ),
            },
        ),
        variables=new,
    )
    print(report.table())

    old_emb = old.get_layer('emb').embeddings.numpy()
    new_emb = emb.numpy()
    same = np.array_equal(new_emb[NEW_TOKENS.index('great')], old_emb[OLD_TOKENS.index('great')])
    print(
        f"4. Check: the row of 'great' moved from {OLD_TOKENS.index('great')} to "
        f'{NEW_TOKENS.index("great")} with its trained values: {same}'
    )
    old_kernel = old.get_layer('head').kernel.numpy()
    same_col = np.array_equal(kernel.numpy()[:, 0], old_kernel[:, OLD_CLASSES.index('positive')])
    print(f"   the 'positive' column moved from 2 to 0 with its trained values: {same_col}")
    if not (same and same_col):
        raise SystemExit('The warm start did not carry the trained values over.')
    return report


def main(argv: Sequence[str]) -> None:
    del argv
    logging.set_verbosity(logging.WARNING)  # The report is printed below; don't log it twice.
    workdir = _WORKDIR.value or tempfile.mkdtemp(prefix='warm_start_demo_')
    tf.io.gfile.makedirs(workdir)
    run_demo(workdir, _STEPS.value)
    print(f'Done. Files are in {workdir}')


if __name__ == '__main__':
    app.run(main)
