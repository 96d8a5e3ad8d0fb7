"""KerasHub models whose tokenizer vocabulary changed keep their trained function.

Small models are built from their constructors (nothing is downloaded): a
`BertBackbone` with a WordPiece tokenizer, a `GPT2CausalLM` (byte-pair,
`ReversibleEmbedding` with tied weights) and a `QwenCausalLM` with untied
weights (its reverse projection is a vocabulary on axis 1). The oracle is the
old model itself: on text made of tokens both vocabularies hold, the new model
computes the old model's outputs (BERT's sequence and pooled outputs; the
language models' logits of every shared token).
"""

import os

import kerasutil
import numpy as np
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks

HAS_KERAS_HUB = kerasutil.KERAS_3 and kerasutil.importable('keras_hub')
SKIP = 'needs keras-hub (an optional test dependency of the current stack) and Keras 3'

SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
OLD_WORDS = SPECIAL + ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog']
NEW_WORDS = SPECIAL + ['dog', 'lazy', 'cat', 'the', 'fox', 'quick', 'sleeps', 'brown', 'over']
TEXTS = ['the quick brown fox', 'lazy dog over the fox', 'fox']

# Byte-pair vocabularies: the new one is reordered, drops 'cd' (and its merge) and adds
# 'e', 'Ġe'. Text made of shared tokens is split the same way by both.
OLD_BPE = ['<|endoftext|>', 'a', 'b', 'c', 'd', 'Ġ', 'ab', 'Ġa', 'Ġb', 'Ġc', 'cd']
OLD_MERGES = ['a b', 'Ġ a', 'Ġ b', 'Ġ c', 'c d']
NEW_BPE = ['<|endoftext|>', 'Ġc', 'b', 'e', 'Ġb', 'a', 'Ġ', 'ab', 'c', 'Ġe', 'd', 'Ġa']
NEW_MERGES = ['a b', 'Ġ a', 'Ġ b', 'Ġ c', 'Ġ e']
BPE_TEXTS = ['ab a b c', 'b ab c a', 'a a']


def _hub():
    import keras_hub

    return keras_hub


class _HubTestBase(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.root = self.create_tempdir().full_path

    def _save(self, model, how, tokenizer=None):
        if how == 'checkpoint' and not kerasutil.TF_BACKEND:
            self.skipTest(
                f'tf.train.Checkpoint needs the TensorFlow backend, not {kerasutil.BACKEND}'
            )
        if how == 'preset':
            directory = os.path.join(self.root, 'preset')
            model.save_to_preset(directory)
            tokenizer.save_to_preset(directory)
            return directory
        return kerasutil.save(model, self.root, how)


@absltest.skipUnless(HAS_KERAS_HUB, SKIP)
class BertTest(_HubTestBase):
    def _model(self, words):
        hub = _hub()
        tokenizer = hub.models.BertTokenizer(vocabulary=words)
        preprocessor = hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=8)
        backbone = hub.models.BertBackbone(
            vocabulary_size=len(words),
            num_layers=1,
            num_heads=2,
            hidden_dim=8,
            intermediate_dim=16,
            max_sequence_length=8,
            dropout=0.0,
        )
        return backbone, tokenizer, preprocessor

    def _assert_same_function(self, old, old_pre, new, new_pre):
        x_old, x_new = old_pre(TEXTS), new_pre(TEXTS)
        ids_old = kerasutil.to_numpy(x_old['token_ids'])
        ids_new = kerasutil.to_numpy(x_new['token_ids'])
        self.assertFalse(np.array_equal(ids_old, ids_new))  # The ids did change.
        want, got = kerasutil.predict(old, x_old), kerasutil.predict(new, x_new)
        for key in ('sequence_output', 'pooled_output'):
            np.testing.assert_allclose(got[key], want[key], rtol=1e-4, atol=1e-5, err_msg=key)

    @parameterized.named_parameters(
        ('weights_h5', 'weights_h5'), ('checkpoint', 'checkpoint'), ('preset', 'preset')
    )
    def test_changed_wordpiece_vocabulary_keeps_the_function(self, how):
        old, old_tokenizer, old_pre = self._model(OLD_WORDS)
        kerasutil.randomize(old, 1)
        source = self._save(old, how, old_tokenizer)
        if how == 'preset':  # The old tokenizer, as the preset stores it (a local directory).
            old_tokenizer = _hub().models.BertTokenizer.from_preset(source)
        new, tokenizer, new_pre = self._model(NEW_WORDS)
        emb = kerasutil.name(new.token_embedding.embeddings)
        info = warm_start_hooks.VocabInfo(tokenizer, len(NEW_WORDS), 0, old_tokenizer)
        report = warm_start_hooks.warm_start(
            source, var_name_to_vocab_info={emb: info}, variables=new
        )
        self.assertEqual(report.entry(emb).vocab.new, 2)  # cat, sleeps.
        self.assertEqual(report.entry(emb).vocab.dropped, 1)  # jumps.
        self._assert_same_function(old, old_pre, new, new_pre)

    def test_callback_with_target_inside_a_task_model(self):
        hub = _hub()
        old, old_tokenizer, old_pre = self._model(OLD_WORDS)
        kerasutil.randomize(old, 2)
        source = self._save(old, 'preset', old_tokenizer)
        new, tokenizer, new_pre = self._model(NEW_WORDS)
        task = hub.models.BertTextClassifier(new, num_classes=2, preprocessor=None)
        keras = kerasutil.flavour_module('keras3')
        task.compile(
            optimizer=keras.optimizers.SGD(0.0),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        info = warm_start_hooks.VocabInfo(
            tokenizer.get_vocabulary(), len(NEW_WORDS), 0, old_tokenizer.get_vocabulary()
        )
        callback = warm_start_hooks.WarmStartCallback(
            warm_start_hooks.WarmStartSettings(
                source,
                var_name_to_vocab_info={kerasutil.name(new.token_embedding.embeddings): info},
            ),
            target=lambda m: m.backbone,
        )
        x = new_pre(TEXTS)
        labels = np.zeros(len(TEXTS), np.int32)
        task.fit(x, labels, batch_size=len(TEXTS), verbose=0, callbacks=[callback])
        self.assertTrue(callback.report.applied)
        self.assertEqual(
            sorted(callback.report.names()),
            sorted(kerasutil.name(v) for v in new.trainable_variables),
        )
        self._assert_same_function(old, old_pre, new, new_pre)


@absltest.skipUnless(HAS_KERAS_HUB, SKIP)
class CausalLMTest(_HubTestBase):
    def _model(self, kind, vocab, merges):
        hub = _hub()
        vocabulary = {t: i for i, t in enumerate(vocab)}
        if kind == 'gpt2':
            tokenizer = hub.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges)
            backbone = hub.models.GPT2Backbone(
                vocabulary_size=len(vocab),
                num_layers=1,
                num_heads=2,
                hidden_dim=8,
                intermediate_dim=16,
                max_sequence_length=16,
                dropout=0.0,
            )
            return hub.models.GPT2CausalLM(backbone, preprocessor=None), tokenizer
        tokenizer = hub.models.QwenTokenizer(vocabulary=vocabulary, merges=merges)
        backbone = hub.models.QwenBackbone(
            vocabulary_size=len(vocab),
            num_layers=1,
            num_query_heads=2,
            num_key_value_heads=1,
            hidden_dim=8,
            intermediate_dim=16,
            tie_word_embeddings=False,
        )
        return hub.models.QwenCausalLM(backbone, preprocessor=None), tokenizer

    def _inputs(self, tokenizer):
        rows = [list(kerasutil.to_numpy(tokenizer(t))) for t in BPE_TEXTS]
        length = max(len(r) for r in rows)
        ids = np.array([r + [0] * (length - len(r)) for r in rows], np.int32)
        mask = np.array([[1] * len(r) + [0] * (length - len(r)) for r in rows], bool)
        return {'token_ids': ids, 'padding_mask': mask}, rows

    @parameterized.named_parameters(
        ('gpt2_tied_weights_h5', 'gpt2', 'weights_h5'),
        ('gpt2_tied_checkpoint', 'gpt2', 'checkpoint'),
        ('qwen_untied_weights_h5', 'qwen', 'weights_h5'),
        ('qwen_untied_checkpoint', 'qwen', 'checkpoint'),
    )
    def test_changed_byte_pair_vocabulary_keeps_the_logits(self, kind, how):
        old, old_tokenizer = self._model(kind, OLD_BPE, OLD_MERGES)
        kerasutil.randomize(old, 3)
        source = self._save(old, how)
        new, tokenizer = self._model(kind, NEW_BPE, NEW_MERGES)
        embedding = new.backbone.token_embedding
        infos = {
            kerasutil.name(embedding.embeddings): warm_start_hooks.VocabInfo(
                tokenizer, len(NEW_BPE), 0, old_tokenizer.get_vocabulary()
            )
        }
        if kind == 'qwen':  # Untied: the reverse projection's columns are the vocabulary.
            infos[kerasutil.name(embedding.reverse_embeddings)] = warm_start_hooks.VocabInfo(
                tokenizer, len(NEW_BPE), 0, old_tokenizer, axis=1
            )
        report = warm_start_hooks.warm_start(source, var_name_to_vocab_info=infos, variables=new)
        self.assertEqual(report.counts()['remap'], len(infos))

        x_old, rows_old = self._inputs(old_tokenizer)
        x_new, rows_new = self._inputs(tokenizer)
        # The same tokens, under other ids.
        self.assertEqual(
            [[OLD_BPE[i] for i in r] for r in rows_old], [[NEW_BPE[i] for i in r] for r in rows_new]
        )
        self.assertNotEqual(rows_old, rows_new)
        want, got = kerasutil.predict(old, x_old), kerasutil.predict(new, x_new)
        for token in set(OLD_BPE) & set(NEW_BPE):
            np.testing.assert_allclose(
                got[..., NEW_BPE.index(token)],
                want[..., OLD_BPE.index(token)],
                rtol=1e-4,
                atol=1e-5,
                err_msg=token,
            )


if __name__ == '__main__':
    absltest.main()
