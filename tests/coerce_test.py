"""Tests of `_coerce.py`: settings from ours, TensorFlow's, JSON-style dicts and paths."""

import json
import pathlib

import tensorflow as tf
from absl.testing import absltest

from warm_start_hooks import _coerce
from warm_start_hooks import _errors
from warm_start_hooks import _settings


class CoerceTest(absltest.TestCase):
    def test_wrong_types_in_a_dict_become_problems(self):
        s = _coerce.coerce_settings(
            {
                'ckpt_to_initialize_from': '/c',
                'rules': 'abc',
                'var_name_to_vocab_info': [1],
                'var_name_to_prev_var_name': {'a': ['b']},
            }
        )
        problems = s.problems()
        self.assertLen(problems, 3, msg=problems)
        self.assertRegex(problems[0], "Received: rules='abc'")

    def test_vocab_info_fields_unknown_or_missing(self):
        with self.assertRaises(_errors.WarmStartError) as cm:
            _coerce.coerce_settings(
                {
                    'ckpt_to_initialize_from': '/c',
                    'var_name_to_vocab_info': {
                        'emb': {'new_vocab': 'n', 'new_vocab_size': 3, 'old_vocab': 'o', 'oov': 1}
                    },
                }
            )
        problems = cm.exception.problems
        self.assertLen(problems, 2, msg=problems)
        self.assertRegex(
            problems[0],
            r"VocabInfo for variable 'emb': unknown VocabInfo field\(s\) \['oov'\]; expected "
            r'some of .*Received: oov',
        )
        self.assertRegex(problems[1], r"missing field\(s\) \['num_oov_buckets'\]")

    def test_missing_checkpoint_field(self):
        with self.assertRaisesRegex(_errors.WarmStartError, 'settings must give ckpt_to_init'):
            _coerce.coerce_settings({'vars_to_warm_start': '.*'})

    def test_unknown_override(self):
        with self.assertRaisesRegex(
            _errors.WarmStartError,
            r"unknown settings field\(s\) \['strcit'\].*Did you mean: strict",
        ):
            _coerce.coerce_settings('/c', strcit=True)

    def test_path_and_ours(self):
        s = _coerce.coerce_settings('/ckpt')
        self.assertEqual(s, _settings.WarmStartSettings('/ckpt'))
        self.assertIs(_coerce.coerce_settings(s), s)
        self.assertEqual(_coerce.coerce_settings(s, strict=True).strict, True)

    def test_json_dict(self):
        text = json.dumps(
            {
                'ckpt_to_initialize_from': '/ckpt',
                'vars_to_warm_start': ['dense.*'],
                'var_name_to_vocab_info': {
                    'emb': {
                        'new_vocab': 'n.txt',
                        'new_vocab_size': 3,
                        'num_oov_buckets': 1,
                        'old_vocab': 'o.txt',
                        'new_row_init': ['copy', 'apple'],
                    }
                },
                'rules': [['new/(.*)', 'old/\\1'], ['.*/Adam', None]],
                'collection': 'all',
            }
        )
        s = _coerce.coerce_settings(json.loads(text))
        self.assertEqual(
            s.var_name_to_vocab_info['emb'],
            _settings.VocabInfo('n.txt', 3, 1, 'o.txt', new_row_init=('copy', 'apple')),
        )
        self.assertEqual(s.rules, (('new/(.*)', 'old/\\1'), ('.*/Adam', None)))
        self.assertEqual(s.collection, 'all')

    def test_unknown_field(self):
        with self.assertRaisesRegex(
            _errors.WarmStartError,
            r"unknown settings field\(s\) \['colection'\].*Did you mean: collection",
        ):
            _coerce.coerce_settings({'ckpt_to_initialize_from': '/c', 'colection': 'all'})

    def test_rejects_other_types(self):
        with self.assertRaisesRegex(_errors.WarmStartError, 'Received: settings=42'):
            _coerce.coerce_settings(42)

    def test_estimator_settings(self):
        estimator = getattr(tf, 'estimator', None)
        if estimator is None or not hasattr(estimator, 'WarmStartSettings'):
            self.skipTest('tf.estimator needs TensorFlow <= 2.15 and tensorflow-estimator.')
        tf_info = tf.compat.v1.train.VocabInfo('n.txt', 5, 2, 'o.txt')
        theirs = estimator.WarmStartSettings('/ckpt', ['a.*'], {'emb': tf_info}, {'a': 'b'})
        ours = _coerce.coerce_settings(theirs)
        self.assertEqual(ours.ckpt_to_initialize_from, '/ckpt')
        self.assertEqual(ours.vars_to_warm_start, ['a.*'])
        self.assertEqual(ours.vocab_infos['emb'], _settings.VocabInfo('n.txt', 5, 2, 'o.txt'))
        self.assertEqual(ours.var_name_to_prev_var_name, {'a': 'b'})

    def test_bytes_and_pathlib_paths(self):
        self.assertEqual(
            _coerce.coerce_settings(b'/models/old'), _settings.WarmStartSettings('/models/old')
        )
        self.assertEqual(
            _coerce.coerce_settings(pathlib.Path('/models/old')).ckpt_to_initialize_from,
            '/models/old',
        )


if __name__ == '__main__':
    absltest.main()
