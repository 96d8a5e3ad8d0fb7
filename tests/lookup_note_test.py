"""Tests for warm_start_hooks._lookup_note: the warning for a lookup-like vocabulary.

A lookup layer's rows start with its mask and OOV rows; a `VocabInfo` that
maps row i to token i of its vocabulary then reads every row one off. The
oracle is the old model itself: where the note warns, the new model does not
score like the old one on shared tokens. The note's rules are also checked
directly on token lists, without TensorFlow.
"""

import kerasutil
import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks
from warm_start_hooks import _lookup_note

OLD = ['apple', 'banana', 'guava', 'orange', 'pear']
NEW = ['orange', 'banana', 'kiwi', 'apple', 'plum', 'pear']  # guava dropped.
LAYERS = {'string_oov1': ('StringLookup', {})}


class LayoutNoteTest(parameterized.TestCase):
    """The rules on token lists as read, with no model."""

    @parameterized.named_parameters(
        ('plain_lists', NEW, 0, OLD),
        ('plain_lists_with_oov_buckets', NEW, 2, OLD),
        ('both_like_a_lookup', ['[UNK]'] + NEW, 0, ['[UNK]'] + OLD),
        ('oov_token_named_in_the_other_list', ['[UNK]'] + NEW, 0, OLD + ['[UNK]']),
        ('mask_and_oov_named_in_the_other_list', ['', '[UNK]'] + NEW, 0, OLD + ['', '[UNK]']),
    )
    def test_no_note(self, new, oov, old):
        self.assertIsNone(_lookup_note.layout_note('emb', new, old, oov))

    def test_oov_buckets_after_lookup_rows(self):
        note = _lookup_note.layout_note('emb', ['[UNK]'] + NEW, ['[UNK]'] + OLD, 1)
        self.assertStartsWith(note, "Warning: VocabInfo of 'emb': the new vocabulary starts like")
        self.assertIn("['[UNK]', 'orange']", note)
        self.assertIn('num_oov_buckets=1 puts OOV rows after the tokens', note)
        self.assertIn('VocabInfo.from_lookup', note)

    @parameterized.named_parameters(
        ('new_side', ['[UNK]'] + NEW, OLD, 'new'),
        ('old_side', NEW, ['', '[UNK]'] + OLD, 'old'),
    )
    def test_one_side_like_a_lookup(self, new, old, which):
        note = _lookup_note.layout_note('emb', new, old, 0)
        self.assertStartsWith(note, f"Warning: VocabInfo of 'emb': the {which} vocabulary starts")
        self.assertIn('the other does not', note)
        self.assertIn('VocabInfo.from_lookup', note)


class _NoteTestBase(parameterized.TestCase):
    """The note in a warm start's report, on Keras models of one flavour."""

    FLAVOUR = None

    def setUp(self):
        super().setUp()
        self.K = kerasutil.flavour_module(self.FLAVOUR)
        self.root = self.create_tempdir().full_path
        self.how = 'weights_h5' if self.FLAVOUR == 'keras3' else 'checkpoint'

    def _lookup(self, kind, vocabulary):
        layer, kwargs = LAYERS[kind]
        return getattr(self.K.layers, layer)(vocabulary=vocabulary, **kwargs)

    def _model(self, rows, length=3):
        K = self.K
        inputs = K.Input((length,), dtype='int32')
        vectors = K.layers.Embedding(rows, 4, name='emb')(inputs)
        head = K.layers.Dense(2, name='head')(K.layers.Flatten()(vectors))
        return K.Model(inputs, head)

    def _old(self, kind):
        lookup = self._lookup(kind, OLD)
        model = self._model(lookup.vocabulary_size())
        kerasutil.randomize(model, 1)
        return model, lookup, kerasutil.save(model, self.root, self.how)

    def _warm_start(self, source, model, info):
        emb = kerasutil.name(model.get_layer('emb').embeddings)
        settings = warm_start_hooks.WarmStartSettings(source, var_name_to_vocab_info={emb: info})
        return warm_start_hooks.warm_start(settings, variables=model)

    def test_a_natural_vocab_info_on_lookup_rows_is_warned_about(self):
        if self.FLAVOUR == 'keras3' and not kerasutil.TF_BACKEND:
            self.skipTest(
                f'a model with a string input runs on TensorFlow, not {kerasutil.BACKEND}'
            )
        K = self.K

        def model_with(lookup):
            inputs = K.Input((3,), dtype='string')
            vectors = K.layers.Embedding(lookup.vocabulary_size(), 4, name='emb')(lookup(inputs))
            return K.Model(inputs, K.layers.Dense(2, name='head')(K.layers.Flatten()(vectors)))

        old = model_with(self._lookup('string_oov1', OLD))
        kerasutil.randomize(old, 1)
        source = kerasutil.save(old, self.root, self.how)
        new_file = testutil.write_lines(self.root, 'new.txt', NEW)
        old_file = testutil.write_lines(self.root, 'old_plain.txt', OLD)
        model = model_with(self._lookup('string_oov1', new_file))
        # What a new user writes: the two files, one OOV bucket. The lookup's OOV row
        # comes first, so every token is read one row off.
        report = self._warm_start(
            source, model, warm_start_hooks.VocabInfo(new_file, 6, 1, old_file)
        )
        (note,) = report.notes
        self.assertRegex(note, r'^Warning: .*StringLookup .* every row is off.*from_lookup')
        x = tf.constant([['banana', 'orange', 'apple']])
        self.assertFalse(np.allclose(kerasutil.predict(model, x), kerasutil.predict(old, x)))

    @parameterized.named_parameters(
        ('oov_after_lookup_rows', ['[UNK]'] + NEW, 1, ['[UNK]'] + OLD),
        ('one_side_lookup_rows', ['[UNK]'] + NEW, 0, OLD),
    )
    def test_lookup_looking_vocabulary_used_otherwise_is_warned_about(self, new, oov, old_vocab):
        _, _, source = self._old('string_oov1')
        model = self._model(6)
        info = warm_start_hooks.VocabInfo(new, len(new), oov, old_vocab)
        model = self._model(len(new) + oov)
        report = warm_start_hooks.plan(
            warm_start_hooks.WarmStartSettings(
                source,
                var_name_to_vocab_info={kerasutil.name(model.get_layer('emb').embeddings): info},
            ),
            variables=model,
        )
        self.assertLen(report.notes, 1)
        self.assertIn('starts like a lookup layer', report.notes[0])

    def test_oov_token_named_in_an_estimator_list_is_not_warned_about(self):
        _, _, source = self._old('string_oov1')
        lookup = self._lookup('string_oov1', NEW)
        model = self._model(lookup.vocabulary_size())
        info = warm_start_hooks.VocabInfo(lookup, lookup.vocabulary_size(), 0, OLD + ['[UNK]'])
        self.assertEqual(info.new_vocab, tuple(['[UNK]'] + NEW))  # The layer's rows.
        report = self._warm_start(source, model, info)
        self.assertEmpty(report.notes)


@absltest.skipUnless(kerasutil.KERAS_3, 'needs Keras 3 (the keras package on TF >= 2.16)')
class Keras3NoteTest(_NoteTestBase):
    FLAVOUR = 'keras3'


@absltest.skipUnless(kerasutil.HAS_KERAS_2, kerasutil.KERAS_2_SKIP)
class Keras2NoteTest(_NoteTestBase):
    FLAVOUR = 'keras2'


del _NoteTestBase


if __name__ == '__main__':
    absltest.main()
