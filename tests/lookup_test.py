"""Tests for warm_start_hooks._lookup: Keras lookup layers and tokenizers as vocabularies.

The oracle is the old model itself: after a warm start built with
`VocabInfo.from_lookup`, the new model's outputs on inputs made of tokens both
vocabularies hold, on unknown tokens and on the mask token equal the old
model's outputs on the same inputs. For an Estimator-layout vocabulary the
oracle is TensorFlow's own `StaticVocabularyTable` (what an Estimator column
looks tokens up with) applied to the old matrix, and on the estimator stack a
real `DNNClassifier`'s predictions.
"""

import os

import kerasutil
import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks
from warm_start_hooks import _lookup
from warm_start_hooks import _lookup_rows

OLD = ['apple', 'banana', 'guava', 'orange', 'pear']
NEW = ['orange', 'banana', 'kiwi', 'apple', 'plum', 'pear']  # guava dropped.
SHARED = ['banana', 'orange', 'apple', 'pear']
OLD_INTS = [10, 20, 30, 40]
NEW_INTS = [40, 20, 50, 10]
LAYERS = {
    'string_oov1': ('StringLookup', {}),
    'string_mask_oov2': ('StringLookup', {'mask_token': '', 'num_oov_indices': 2}),
    'integer_mask': ('IntegerLookup', {'mask_token': 0}),
    'text_vectorization': ('TextVectorization', {'output_sequence_length': 3}),
}


def _inputs(kind):
    """Inputs of shared tokens, unknown tokens and (where there is one) the mask."""
    if kind == 'integer_mask':
        return [[20, 40, 10], [99, 77, 0], [10, 0, 0], [33, 20, 5]]
    if kind == 'text_vectorization':
        return ['banana orange', 'apple zzz pear', 'qqq', 'www xyz', '']
    return [
        ['banana', 'orange', 'apple'],
        ['pear', 'zzz', 'qqq'],
        ['www', 'xyz', 'abc'],
        ['apple', 'apple', '' if 'mask' in kind else 'pear'],
    ]


class _LookupTestBase(parameterized.TestCase):
    FLAVOUR = None

    def setUp(self):
        super().setUp()
        self.K = kerasutil.flavour_module(self.FLAVOUR)
        self.root = self.create_tempdir().full_path
        self.how = 'weights_h5' if self.FLAVOUR == 'keras3' else 'checkpoint'

    def _lookup(self, kind, vocabulary):
        layer, kwargs = LAYERS[kind]
        if kind == 'integer_mask':
            vocabulary = OLD_INTS if vocabulary is OLD else NEW_INTS
        return getattr(self.K.layers, layer)(vocabulary=vocabulary, **kwargs)

    def _model(self, rows, length=3):
        K = self.K
        inputs = K.Input((length,), dtype='int32')
        vectors = K.layers.Embedding(rows, 4, name='emb')(inputs)
        head = K.layers.Dense(2, name='head')(K.layers.Flatten()(vectors))
        return K.Model(inputs, head)

    def _ids(self, lookup, x):
        return kerasutil.to_numpy(lookup(tf.constant(x))).astype(np.int32)

    def _old(self, kind):
        lookup = self._lookup(kind, OLD)
        model = self._model(lookup.vocabulary_size())
        kerasutil.randomize(model, 1)
        return model, lookup, kerasutil.save(model, self.root, self.how)

    def _warm_start(self, source, model, info):
        emb = kerasutil.name(model.get_layer('emb').embeddings)
        settings = warm_start_hooks.WarmStartSettings(source, var_name_to_vocab_info={emb: info})
        return warm_start_hooks.warm_start(settings, variables=model)

    def _assert_same_function(self, old, old_lookup, model, lookup, x):
        want = kerasutil.predict(old, self._ids(old_lookup, x))
        got = kerasutil.predict(model, self._ids(lookup, x))
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)

    @parameterized.named_parameters(
        (f'{kind}_{form}', kind, form)
        for kind in LAYERS
        for form in ('layer', 'get_vocabulary', 'file')
    )
    def test_same_function_on_shared_unknown_and_mask_tokens(self, kind, form):
        old, old_lookup, source = self._old(kind)
        lookup = self._lookup(kind, NEW)
        model = self._model(lookup.vocabulary_size())
        if form == 'layer':
            old_vocab = old_lookup
        elif form == 'get_vocabulary':
            old_vocab = old_lookup.get_vocabulary()
        else:
            words = old_lookup.get_vocabulary(include_special_tokens=False)
            old_vocab = testutil.write_lines(self.root, 'old.txt', [str(w) for w in words])
        info = warm_start_hooks.VocabInfo.from_lookup(lookup, old_vocab)
        report = self._warm_start(source, model, info)

        self._assert_same_function(old, old_lookup, model, lookup, _inputs(kind))
        self.assertEmpty(report.notes)
        (entry,) = [e for e in report.entries if e.action == 'remap']
        old_words = OLD_INTS if kind == 'integer_mask' else OLD
        new_words = NEW_INTS if kind == 'integer_mask' else NEW
        n_special = lookup.vocabulary_size() - len(new_words)
        shared = len(set(new_words) & set(old_words))
        self.assertEqual(entry.vocab.new, len(new_words) - shared)
        self.assertEqual(entry.vocab.kept + entry.vocab.moved, n_special + shared)

    def test_estimator_layout_oov_buckets_after_the_tokens(self):
        rng = np.random.default_rng(4)
        buckets = 2
        old = {
            'emb': rng.normal(size=(len(OLD) + buckets, 4)).astype(np.float32),
            'head/kernel': rng.normal(size=(12, 2)).astype(np.float32),
            'head/bias': rng.normal(size=(2,)).astype(np.float32),
        }
        prefix = testutil.save_v1_checkpoint(os.path.join(self.root, 'est', 'model.ckpt'), old)
        old_file = testutil.write_lines(self.root, 'old.txt', OLD)
        lookup = self._lookup('string_mask_oov2', NEW)
        model = self._model(lookup.vocabulary_size())
        info = warm_start_hooks.VocabInfo.from_lookup(lookup, old_file, old_layout='estimator')
        names = {kerasutil.name(v): v for v in model.variables}
        prev = {
            n: {'embeddings': 'emb', 'kernel': 'head/kernel', 'bias': 'head/bias'}[n.split('/')[-1]]
            for n in names
        }
        emb = kerasutil.name(model.get_layer('emb').embeddings)
        warm_start_hooks.warm_start(
            prefix,
            var_name_to_vocab_info={emb: info},
            var_name_to_prev_var_name=prev,
            variables=model,
        )

        # TensorFlow's table, as an Estimator column looks tokens up: OOV buckets after.
        table = tf.lookup.StaticVocabularyTable(
            tf.lookup.TextFileInitializer(
                old_file,
                tf.string,
                tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64,
                tf.lookup.TextFileIndex.LINE_NUMBER,
            ),
            num_oov_buckets=buckets,
        )
        x = [row for row in _inputs('string_oov1')]
        rows = table.lookup(tf.constant(x)).numpy()
        want = old['emb'][rows].reshape(len(x), -1) @ old['head/kernel'] + old['head/bias']
        got = kerasutil.predict(model, self._ids(lookup, x))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        # The mask row has no old row: it keeps zeros.
        np.testing.assert_array_equal(kerasutil.to_numpy(model.get_layer('emb').embeddings)[0], 0)

    def test_class_head_over_a_label_lookup_on_axis_1(self):
        K = self.K
        old_labels = K.layers.StringLookup(vocabulary=['cat', 'dog', 'fish'], num_oov_indices=0)
        new_labels = K.layers.StringLookup(
            vocabulary=['fish', 'bird', 'cat', 'dog'], num_oov_indices=0
        )

        def head(n):
            inputs = K.Input((3,))
            return K.Model(inputs, K.layers.Dense(n, name='head')(inputs))

        old = head(3)
        kerasutil.randomize(old, 5)
        source = kerasutil.save(old, self.root, self.how)
        model = head(4)
        kernel = kerasutil.name(model.get_layer('head').kernel)
        bias = kerasutil.name(model.get_layer('head').bias)
        info = warm_start_hooks.VocabInfo.from_lookup(new_labels, old_labels, axis=1)
        warm_start_hooks.warm_start(
            source,
            var_name_to_vocab_info={kernel: info},
            variables=model,
            rules=[(bias, None)],
        )
        x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
        old_bias = kerasutil.to_numpy(old.get_layer('head').bias)
        new_bias = kerasutil.to_numpy(model.get_layer('head').bias)
        want = kerasutil.predict(old, x) - old_bias
        got = kerasutil.predict(model, x) - new_bias
        for j, label in enumerate(['fish', 'bird', 'cat', 'dog']):
            column = want[:, ['cat', 'dog', 'fish'].index(label)] if label != 'bird' else 0.0
            np.testing.assert_allclose(got[:, j], np.broadcast_to(column, (5,)), atol=1e-6)

    def test_a_layer_without_vocabulary_is_refused(self):
        empty = self.K.layers.StringLookup()
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'StringLookup') as cm:
            warm_start_hooks.VocabInfo.from_lookup(empty, OLD)
        self.assertIn('Received:', str(cm.exception))

    def test_estimator_layout_of_a_lookup_layer_is_refused(self):
        lookup = self._lookup('string_oov1', NEW)
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, '2 problems') as cm:
            warm_start_hooks.VocabInfo.from_lookup(
                lookup, lookup, old_layout='estimator', old_num_oov_buckets='2'
            )
        self.assertIn('not a lookup layer', str(cm.exception))
        self.assertIn("old_num_oov_buckets='2'", str(cm.exception))


@absltest.skipUnless(kerasutil.KERAS_3, 'needs Keras 3 (the keras package on TF >= 2.16)')
class Keras3LookupTest(_LookupTestBase):
    FLAVOUR = 'keras3'


@absltest.skipUnless(kerasutil.HAS_KERAS_2, kerasutil.KERAS_2_SKIP)
class Keras2LookupTest(_LookupTestBase):
    FLAVOUR = 'keras2'


del _LookupTestBase


def _has_estimator():
    try:
        return tf.estimator.DNNClassifier is not None
    except (AttributeError, ImportError):
        return False


@absltest.skipUnless(
    _has_estimator(), 'tf.estimator needs TensorFlow <= 2.15 and tensorflow-estimator'
)
class EstimatorLayoutTest(absltest.TestCase):
    """A real DNNClassifier with 2 OOV buckets: the Keras model scores every word as it did."""

    def test_keras_model_scores_known_and_unknown_words_like_the_estimator(self):
        import keras as K  # Keras 2 (tf.keras) on this stack.

        root = self.create_tempdir().full_path
        old_vocab = testutil.write_lines(root, 'old.txt', OLD)
        column = tf.feature_column.embedding_column(
            tf.feature_column.categorical_column_with_vocabulary_file(
                'tok', old_vocab, num_oov_buckets=2
            ),
            dimension=3,
        )
        model_dir = os.path.join(root, 'estimator')
        estimator = tf.estimator.DNNClassifier(
            hidden_units=[4], feature_columns=[column], n_classes=3, model_dir=model_dir
        )
        train = [['apple'], ['banana'], ['guava'], ['orange'], ['zzz'], ['qqq']]
        estimator.train(
            lambda: tf.data.Dataset.from_tensors(
                ({'tok': tf.constant(train)}, tf.constant([0, 1, 2, 1, 0, 2]))
            ).repeat(),
            steps=5,
        )
        words = SHARED + ['zzz', 'qqq', 'www', 'xyz']  # Known to both, and unknown words.
        est_logits = np.stack(
            [
                p['logits']
                for p in estimator.predict(
                    lambda: tf.data.Dataset.from_tensors({'tok': tf.constant([[w] for w in words])})
                )
            ]
        )

        lookup = K.layers.StringLookup(vocabulary=NEW, num_oov_indices=2)
        inputs = K.Input((1,), dtype='int64')
        vectors = K.layers.Embedding(lookup.vocabulary_size(), 3, name='emb')(inputs)
        hidden = K.layers.Dense(4, 'relu', name='hiddenlayer_0')(K.layers.Flatten()(vectors))
        model = K.Model(inputs, K.layers.Dense(3, name='logits')(hidden))
        info = warm_start_hooks.VocabInfo.from_lookup(lookup, old_vocab, old_layout='estimator')
        warm_start_hooks.warm_start(
            model_dir,
            var_name_to_vocab_info={'emb/embeddings': info},
            var_name_to_prev_var_name={
                'emb/embeddings': 'dnn/input_from_feature_columns/input_layer/tok_embedding/'
                'embedding_weights'
            },
            rules=[(r'(hiddenlayer_0|logits)/(kernel|bias)', r'dnn/\1/\2')],
            variables=model,
        )
        ids = lookup(tf.constant([[w] for w in words]))
        np.testing.assert_allclose(model(ids).numpy(), est_logits, rtol=1e-5, atol=1e-6)


class VocabTokensTest(parameterized.TestCase):
    """Vocabularies given as objects become token lists in row (id) order."""

    def test_token_to_id_mapping_and_its_keys_view_are_ordered_by_id(self):
        mapping = {'b': 1, 'c': 2, 'a': 0}
        self.assertEqual(_lookup.vocab_tokens(mapping), ('a', 'b', 'c'))
        self.assertEqual(_lookup.vocab_tokens(mapping.keys()), ('a', 'b', 'c'))
        info = warm_start_hooks.VocabInfo(mapping.keys(), 3, 0, ['c', 'a'])
        self.assertEqual(info.new_vocab, ('a', 'b', 'c'))

    def test_tokenizer_like_object(self):
        class Tokenizer:
            vocabulary = {'<pad>': 0, 'x': 2, 'y': 1}

            def get_vocabulary(self):
                return self.vocabulary.keys()

        self.assertEqual(_lookup.vocab_tokens(Tokenizer()), ('<pad>', 'y', 'x'))

    def test_ids_with_a_gap_are_refused(self):
        # Kept as given by the conversion; the VocabInfo's problems name it.
        vocab = {'a': 0, 'b': 2}
        self.assertIs(_lookup.vocab_tokens(vocab), vocab)
        info = warm_start_hooks.VocabInfo(vocab, 2, 0, ['a', 'b'])
        (problem,) = info.problems('emb')
        self.assertRegex(problem, r"token -> id mapping whose ids are not 0 \.\. n-1.*'b': 2")

    @parameterized.named_parameters(
        ('path', '/tmp/vocab.txt'),
        ('list', ['a', 'b']),
        ('tuple', ('a',)),
    )
    def test_paths_and_string_lists_are_kept(self, value):
        self.assertIs(_lookup.vocab_tokens(value), value)

    def test_numpy_arrays_are_kept_and_integers_become_strings(self):
        # A numpy array of tokens is read as it is (at C speed, by the vocabulary reader).
        tokens = np.array(['a', 'b'])
        self.assertIs(_lookup.vocab_tokens(tokens), tokens)
        self.assertEqual(_lookup.vocab_tokens(np.array([3, 4])), ('3', '4'))
        self.assertEqual(_lookup.vocab_tokens([0, -1, 7]), ('0', '-1', '7'))

    def test_reserved_tokens_in_a_vocabulary_are_refused(self):
        if not kerasutil.HAS_KERAS:
            self.skipTest('needs a Keras lookup layer')
        import keras

        lookup = keras.layers.StringLookup(vocabulary=['a', 'b'])
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'reserved for special rows'):
            warm_start_hooks.VocabInfo.from_lookup(lookup, ['a', _lookup_rows.oov_token(0)])

    def test_unreadable_old_vocabulary_file(self):
        if not kerasutil.HAS_KERAS:
            self.skipTest('needs a Keras lookup layer')
        import keras

        lookup = keras.layers.StringLookup(vocabulary=['a', 'b'])
        missing = os.path.join(self.create_tempdir().full_path, 'missing.txt')
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'cannot be read') as cm:
            warm_start_hooks.VocabInfo.from_lookup(lookup, missing)
        self.assertIn(f'Received: old_vocab={missing!r}', str(cm.exception))

    def test_new_lookup_must_be_a_lookup_layer(self):
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'Received: new_lookup=list'):
            warm_start_hooks.VocabInfo.from_lookup(['a'], ['a'])


if __name__ == '__main__':
    absltest.main()
