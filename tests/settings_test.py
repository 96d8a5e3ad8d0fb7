"""Tests of `_settings.py`: fields, defaults, validation and conversions."""

import dataclasses
import inspect
import json

import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _errors
from warm_start_hooks import _settings


class VocabInfoTest(parameterized.TestCase):
    def test_same_fields_and_defaults_as_tensorflow(self):
        ours = inspect.signature(_settings.VocabInfo)
        theirs = inspect.signature(tf.compat.v1.train.VocabInfo.__new__)
        positional = [
            p for p in ours.parameters.values() if p.kind != inspect.Parameter.KEYWORD_ONLY
        ]
        self.assertEqual(
            [(p.name, p.default) for p in positional],
            [(p.name, p.default) for p in list(theirs.parameters.values())[1:]],
        )

    def test_frozen(self):
        info = _settings.VocabInfo('n', 3, 0, 'o')
        with self.assertRaises(dataclasses.FrozenInstanceError):
            info.axis = 1

    @parameterized.named_parameters(
        ('axis', dict(axis=2), 'axis must be 0 .* Received: axis=2'),
        ('new_size', dict(new_vocab_size=-1), 'new_vocab_size must be >= 0'),
        ('oov', dict(num_oov_buckets=-2), 'num_oov_buckets must be >= 0'),
        ('old_size', dict(old_vocab_size=0), 'old_vocab_size must be -1'),
        (
            'not_int',
            dict(new_vocab_size='3'),
            "new_vocab_size must be an int. Received: new_vocab_size='3'",
        ),
        ('bool', dict(num_oov_buckets=True), 'num_oov_buckets must be an int'),
        ('empty_path', dict(new_vocab=''), 'new_vocab must be a file path'),
        ('bad_new_row_init', dict(new_row_init='median'), "new_row_init must be 'mean'"),
        ('both_inits', dict(new_row_init='mean', backup_initializer=tf.zeros), 'not both'),
        ('allow_no_overlap', dict(allow_no_overlap='yes'), 'allow_no_overlap must be True or'),
    )
    def test_problems(self, change, pattern):
        fields = dict(new_vocab='n.txt', new_vocab_size=3, num_oov_buckets=1, old_vocab='o.txt')
        fields.update(change)
        problems = _settings.VocabInfo(**fields).problems('emb')
        self.assertLen(problems, 1)
        self.assertRegex(problems[0], pattern)
        self.assertIn("VocabInfo for variable 'emb'", problems[0])

    def test_allow_no_overlap_is_keyword_only_and_off_by_default(self):
        self.assertFalse(_settings.VocabInfo('n', 1, 0, 'o').allow_no_overlap)
        info = _settings.VocabInfo('n', 1, 0, 'o', allow_no_overlap=True)
        self.assertTrue(info.allow_no_overlap)
        self.assertEqual(info.problems('e'), [])
        with self.assertRaises(TypeError):
            _settings.VocabInfo('n', 1, 0, 'o', -1, None, 0, True)

    @parameterized.named_parameters(
        ('mean', 'mean'), ('gaussian', 'gaussian'), ('fresh', 'fresh'), ('donor', ('copy', 'a'))
    )
    def test_new_row_init_forms(self, how):
        self.assertEqual(_settings.VocabInfo('n', 1, 0, 'o', new_row_init=how).problems('e'), [])

    def test_converts_tensorflow_vocab_info(self):
        tf_info = tf.compat.v1.train.VocabInfo('n.txt', 5, 2, 'o.txt', 4, None, 1)
        ours = _settings.from_tf_vocab_info(tf_info)
        self.assertEqual(ours, _settings.VocabInfo('n.txt', 5, 2, 'o.txt', 4, None, 1))
        self.assertIsNone(_settings.from_tf_vocab_info(object()))


class WarmStartSettingsTest(parameterized.TestCase):
    def test_positional_fields_match_estimator(self):
        names = [f.name for f in dataclasses.fields(_settings.WarmStartSettings) if not f.kw_only]
        self.assertEqual(
            names,
            [
                'ckpt_to_initialize_from',
                'vars_to_warm_start',
                'var_name_to_vocab_info',
                'var_name_to_prev_var_name',
            ],
        )
        s = _settings.WarmStartSettings('/ckpt')
        self.assertEqual(
            (s.vars_to_warm_start, s.var_name_to_vocab_info, s.var_name_to_prev_var_name),
            ('.*', None, None),
        )

    def test_extras_are_keyword_only(self):
        with self.assertRaises(TypeError):
            _settings.WarmStartSettings('/c', '.*', None, None, 'all')

    @parameterized.named_parameters(
        ('ckpt', dict(ckpt_to_initialize_from=''), 'ckpt_to_initialize_from must be'),
        ('collection', dict(collection='some'), "collection must be 'trainable', 'all'"),
        ('shape_policy', dict(shape_policy='pad'), "shape_policy must be 'error'"),
        ('shape_policy_map', dict(shape_policy={'.*': 'pad'}), 'Received: shape_policy=.pad.'),
        ('dtype_policy', dict(dtype_policy='round'), "dtype_policy must be 'error' or 'cast'"),
        ('on_missing', dict(on_missing='warn'), "on_missing must be 'error' or 'skip'"),
        ('backend', dict(remap_backend='gpu'), "remap_backend must be 'numpy' or 'tf_ops'"),
        ('memory', dict(max_bytes_in_memory=0), "max_bytes_in_memory must be 'auto', a positive"),
        ('memory_str', dict(max_bytes_in_memory='8GB'), "max_bytes_in_memory must be 'auto'"),
        ('rule', dict(rules=[('a',)]), 'each rule must be a .regex, replacement-or-None. pair'),
        (
            'vocab_info_type',
            dict(var_name_to_vocab_info={'emb': 3}),
            "var_name_to_vocab_info values must be VocabInfo. Received: 'emb': 3",
        ),
    )
    def test_problems(self, change, pattern):
        fields = dict(ckpt_to_initialize_from='/ckpt')
        fields.update(change)
        problems = _settings.WarmStartSettings(**fields).problems()
        self.assertLen(problems, 1)
        self.assertRegex(problems[0], pattern)

    def test_all_problems_at_once(self):
        s = _settings.WarmStartSettings(
            '/c',
            var_name_to_vocab_info={'emb': _settings.VocabInfo('n', -1, -1, 'o', axis=3)},
            dtype_policy='x',
            on_missing='y',
        )
        self.assertLen(s.problems(), 5)

    @parameterized.named_parameters(('auto', 'auto'), ('bytes', 1 << 20), ('whole', None))
    def test_max_bytes_in_memory_forms(self, value):
        s = _settings.WarmStartSettings('/ckpt', max_bytes_in_memory=value)
        self.assertEqual(s.problems(), [])

    def test_max_bytes_in_memory_defaults_to_auto(self):
        self.assertEqual(_settings.WarmStartSettings('/ckpt').max_bytes_in_memory, 'auto')

    def test_coerce_path_and_ours(self):
        s = _settings.coerce_settings('/ckpt')
        self.assertEqual(s, _settings.WarmStartSettings('/ckpt'))
        self.assertIs(_settings.coerce_settings(s), s)
        self.assertEqual(_settings.coerce_settings(s, strict=True).strict, True)

    def test_coerce_json_dict(self):
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
        s = _settings.coerce_settings(json.loads(text))
        self.assertEqual(
            s.var_name_to_vocab_info['emb'],
            _settings.VocabInfo('n.txt', 3, 1, 'o.txt', new_row_init=('copy', 'apple')),
        )
        self.assertEqual(s.rules, (('new/(.*)', 'old/\\1'), ('.*/Adam', None)))
        self.assertEqual(s.collection, 'all')

    def test_coerce_unknown_field(self):
        with self.assertRaisesRegex(
            _errors.WarmStartError,
            r"unknown settings field\(s\) \['colection'\].*Did you mean: collection",
        ):
            _settings.coerce_settings({'ckpt_to_initialize_from': '/c', 'colection': 'all'})

    def test_coerce_rejects_other_types(self):
        with self.assertRaisesRegex(_errors.WarmStartError, 'Received: settings=42'):
            _settings.coerce_settings(42)

    def test_coerce_estimator_settings(self):
        estimator = getattr(tf, 'estimator', None)
        if estimator is None or not hasattr(estimator, 'WarmStartSettings'):
            self.skipTest('tf.estimator needs TensorFlow <= 2.15 and tensorflow-estimator.')
        tf_info = tf.compat.v1.train.VocabInfo('n.txt', 5, 2, 'o.txt')
        theirs = estimator.WarmStartSettings('/ckpt', ['a.*'], {'emb': tf_info}, {'a': 'b'})
        ours = _settings.coerce_settings(theirs)
        self.assertEqual(ours.ckpt_to_initialize_from, '/ckpt')
        self.assertEqual(ours.vars_to_warm_start, ['a.*'])
        self.assertEqual(ours.vocab_infos['emb'], _settings.VocabInfo('n.txt', 5, 2, 'o.txt'))
        self.assertEqual(ours.var_name_to_prev_var_name, {'a': 'b'})


if __name__ == '__main__':
    absltest.main()
