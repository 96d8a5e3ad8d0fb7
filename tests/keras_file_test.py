"""Tests for warm_start_hooks._keras_file: every Keras save format as a source.

Each format is written by Keras itself (Keras 3, and Keras 2: tf.keras on
TensorFlow 2.15, tf_keras on 2.21). The oracles were written by nobody here:
the model Keras loads from that very file (`load_model`), and the old model's
own predictions on inputs made of tokens both vocabularies hold (and on
unknown tokens) after a warm start with renames, rules and a vocabulary remap.
"""

import contextlib
import io
import json
import os
import zipfile

import kerasutil
import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks
from warm_start_hooks import _cli
from warm_start_hooks import _keras_file

OLD = ['apple', 'banana', 'guava', 'orange']
NEW = ['orange', 'banana', 'kiwi', 'apple', 'plum']
INPUTS = [['banana', 'orange', 'apple'], ['apple', 'zzz', 'orange'], ['qqq', 'banana', 'www']]
# Format -> (how the old model is saved, file name).
FORMATS = {
    'keras_archive': ('save', 'old.keras'),
    'legacy_model_h5': ('save', 'old.h5'),
    'legacy_weights_h5': ('save_weights', 'old_weights.h5'),
}


class _KerasFileTestBase(parameterized.TestCase):
    FLAVOUR = None

    def setUp(self):
        super().setUp()
        self.K = kerasutil.flavour_module(self.FLAVOUR)
        self.root = self.create_tempdir().full_path

    def _model(self, lookup, hidden='hidden'):
        K = self.K
        inputs = K.Input((3,), dtype='int32')
        vectors = K.layers.Embedding(lookup.vocabulary_size(), 4, name='emb')(inputs)
        x = K.layers.Dense(5, activation='relu', name=hidden)(K.layers.Flatten()(vectors))
        x = K.layers.BatchNormalization(name='norm')(x)
        return K.Model(inputs, K.layers.Dense(2, name='head')(x))

    def _save(self, model, fmt):
        how, name = FORMATS[fmt]
        if fmt == 'legacy_weights_h5' and self.FLAVOUR == 'keras3':
            self.skipTest("Keras 3 save_weights writes only '.weights.h5' (tested in h5_test)")
        path = os.path.join(self.root, name)
        getattr(model, how)(path)
        return path

    def _ids(self, lookup, words):
        return kerasutil.to_numpy(lookup(tf.constant(words))).astype(np.int32)

    @parameterized.named_parameters((fmt, fmt) for fmt in FORMATS)
    def test_same_model_matches_what_keras_loads_from_the_file(self, fmt):
        lookup = self.K.layers.StringLookup(vocabulary=OLD)
        old = self._model(lookup)
        kerasutil.randomize(old, 1)
        path = self._save(old, fmt)
        model = self._model(lookup)
        report = warm_start_hooks.warm_start(path, collection='all', variables=model)

        self.assertEqual(report.counts(), {'copy': len(model.variables)})
        if FORMATS[fmt][0] == 'save':
            loaded = self.K.models.load_model(path, compile=False)
        else:
            loaded = self._model(lookup)
            loaded.load_weights(path)
        self.assertLen(loaded.variables, len(model.variables))
        for want, got in zip(loaded.variables, model.variables):
            np.testing.assert_array_equal(
                kerasutil.to_numpy(got), kerasutil.to_numpy(want), err_msg=kerasutil.name(got)
            )
        x = self._ids(lookup, INPUTS)
        np.testing.assert_allclose(
            kerasutil.predict(model, x), kerasutil.predict(loaded, x), rtol=1e-6
        )

    @parameterized.named_parameters((fmt, fmt) for fmt in FORMATS)
    def test_renamed_layer_rules_and_vocabulary_remap(self, fmt):
        old_lookup = self.K.layers.StringLookup(vocabulary=OLD)
        old = self._model(old_lookup)
        kerasutil.randomize(old, 2)
        path = self._save(old, fmt)
        lookup = self.K.layers.StringLookup(vocabulary=NEW)
        model = self._model(lookup, hidden='hidden_renamed')  # A renamed layer.
        # The renamed layer's tensors, by name: '<layer>/<position>' in a legacy file;
        # a .keras archive is laid out by structure, so its keys are the same.
        archive = fmt == 'keras_archive'
        rules = [
            (r'(?:.*/)?hidden_renamed/kernel', 'layers/dense/vars/0' if archive else 'hidden/0'),
            (r'(?:.*/)?hidden_renamed/bias', 'layers/dense/vars/1' if archive else 'hidden/1'),
        ]
        emb = kerasutil.name(model.get_layer('emb').embeddings)
        info = warm_start_hooks.VocabInfo.from_lookup(lookup, old_lookup)
        report = warm_start_hooks.warm_start(
            path,
            collection='all',
            var_name_to_vocab_info={emb: info},
            rules=rules,
            variables=model,
        )

        self.assertEqual(report.counts(), {'copy': len(model.variables) - 1, 'remap': 1})
        self.assertEqual(report.entry(emb).vocab.new, 2)  # kiwi, plum.
        np.testing.assert_allclose(
            kerasutil.predict(model, self._ids(lookup, INPUTS)),
            kerasutil.predict(old, self._ids(old_lookup, INPUTS)),
            rtol=1e-5,
            atol=1e-6,
        )

    @parameterized.named_parameters((fmt, fmt) for fmt in FORMATS)
    def test_inspect_lists_every_tensor(self, fmt):
        old = self._model(self.K.layers.StringLookup(vocabulary=OLD))
        path = self._save(old, fmt)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = _cli.main(['inspect', path, '--json'])
        self.assertEqual(status, 0)
        listed = json.loads(out.getvalue())
        self.assertLen(listed['tensors'], len(old.variables))
        shapes = sorted(tuple(t['shape']) for t in listed['tensors'])
        self.assertEqual(shapes, sorted(tuple(v.shape) for v in old.variables))
        self.assertTrue(listed['object_based'])


@absltest.skipUnless(kerasutil.KERAS_3, 'needs Keras 3 (the keras package on TF >= 2.16)')
class Keras3FileTest(_KerasFileTestBase):
    FLAVOUR = 'keras3'


@absltest.skipUnless(kerasutil.HAS_KERAS_2, kerasutil.KERAS_2_SKIP)
class Keras2FileTest(_KerasFileTestBase):
    FLAVOUR = 'keras2'


del _KerasFileTestBase


@absltest.skipUnless(
    kerasutil.KERAS_3 and kerasutil.HAS_KERAS_2, 'needs Keras 3 and Keras 2 side by side'
)
class CrossFlavourTest(parameterized.TestCase):
    """A file written by one Keras warm-starts a model of the other, by structure or name."""

    @parameterized.named_parameters(
        ('keras2_archive_to_keras3', 'keras2', 'keras3', 'old.keras'),
        ('keras2_legacy_h5_to_keras3', 'keras2', 'keras3', 'old.h5'),
        ('keras3_archive_to_keras2', 'keras3', 'keras2', 'old.keras'),
    )
    def test_migration_keeps_the_function(self, writer, reader, name):
        def build(flavour):
            K = kerasutil.flavour_module(flavour)
            inputs = K.Input((3,))
            hidden = K.layers.Dense(4, activation='relu', name='hidden')(inputs)
            return K.Model(inputs, K.layers.Dense(2, name='head')(hidden))

        old = build(writer)
        kerasutil.randomize(old, 3)
        path = os.path.join(self.create_tempdir().full_path, name)
        old.save(path)
        model = build(reader)
        report = warm_start_hooks.warm_start(path, variables=model)
        self.assertEqual(report.counts(), {'copy': 4})
        x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
        np.testing.assert_allclose(
            kerasutil.predict(model, x), kerasutil.predict(old, x), rtol=1e-6
        )


class BadFileTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.root = self.create_tempdir().full_path

    def _file(self, name, data):
        path = os.path.join(self.root, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def test_archive_that_is_not_a_zip(self):
        path = self._file('bad.keras', b'not a zip')
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'not a zip archive') as cm:
            warm_start_hooks.plan(path, variables=[tf.Variable(1.0)])
        self.assertIn(f'Received: ckpt_to_initialize_from={path!r}', str(cm.exception))

    def test_archive_without_weights(self):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, 'w') as z:
            z.writestr('config.json', '{}')
        path = self._file('empty.keras', buf.getvalue())
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'no model.weights.h5'):
            warm_start_hooks.plan(path, variables=[tf.Variable(1.0)])

    @parameterized.named_parameters(('archive', 'gone.keras'), ('legacy', 'gone.h5'))
    def test_missing_file(self, name):
        path = os.path.join(self.root, name)
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'No Keras weights file'):
            warm_start_hooks.plan(path, variables=[tf.Variable(1.0)])

    def test_corrupt_legacy_file(self):
        path = self._file('bad.h5', b'not hdf5')
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'cannot be read'):
            warm_start_hooks.plan(path, variables=[tf.Variable(1.0)])

    @parameterized.named_parameters(
        ('checkpoint_prefix', 'model.ckpt-5'),
        ('not_a_path', None),
    )
    def test_other_sources_are_left_alone(self, name):
        path = os.path.join(self.root, name) if name else 3
        self.assertIsNone(_keras_file.open_keras_file(path))


if __name__ == '__main__':
    absltest.main()
