"""Tests of `_settings.py`: fields, defaults, validation and conversions.

Settings made from other forms (dicts, paths, TensorFlow's) are tested in coerce_test.
"""

import dataclasses
import inspect
import os
import tempfile

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import warm_start_hooks as wsh
from warm_start_hooks import _coerce
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
        (
            'shape_policy_map',
            dict(shape_policy={'.*': 'pad'}),
            r"Received: shape_policy=\{'\.\*': 'pad'\}",
        ),
        ('dtype_policy', dict(dtype_policy='round'), "dtype_policy must be 'error' or 'cast'"),
        ('on_missing', dict(on_missing='warn'), "on_missing must be 'error' or 'skip'"),
        ('backend', dict(remap_backend='gpu'), "remap_backend must be 'numpy' or 'tf_ops'"),
        ('memory', dict(max_bytes_in_memory=0), "max_bytes_in_memory must be 'auto', a positive"),
        ('memory_str', dict(max_bytes_in_memory='8GB'), "max_bytes_in_memory must be 'auto'"),
        ('rule', dict(rules=[('a',)]), 'each rule must be a .regex, replacement-or-None. pair'),
        (
            'vocab_info_type',
            dict(var_name_to_vocab_info={'emb': 3}),
            r"var_name_to_vocab_info values must be VocabInfo \(.*\). Received: 'emb': 3",
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


def _settings_problems(**fields):
    fields.setdefault('ckpt_to_initialize_from', '/ckpt')
    return _settings.WarmStartSettings(**fields).problems()


class WrongTypesTest(parameterized.TestCase):
    """Fields of the wrong type are problems with a message, never raw exceptions."""

    @parameterized.named_parameters(
        (
            'prev_names_as_list',
            dict(var_name_to_prev_var_name=[('emb', 'old_emb')]),
            [
                r'var_name_to_prev_var_name must be a dict of variable name .* or None\. '
                r"Received: var_name_to_prev_var_name=\[\('emb', 'old_emb'\)\]",
            ],
        ),
        (
            'prev_name_not_a_string',
            dict(var_name_to_prev_var_name={'emb': 3}),
            [
                'var_name_to_prev_var_name values must be the non-empty name of a tensor in '
                r"the checkpoint \(str\)\. Received: 'emb': 3",
            ],
        ),
        (
            'vocab_infos_as_list',
            dict(var_name_to_vocab_info=[('emb', 1)]),
            [
                'var_name_to_vocab_info must be a dict of variable name .* to VocabInfo, or '
                r"None\. Received: var_name_to_vocab_info=\[\('emb', 1\)\]",
            ],
        ),
        (
            'shape_policy_bad_regex',
            dict(shape_policy={'head/(': 'skip'}),
            [
                r'shape_policy has an invalid regex \(missing \).*Received: .head/\(.\. '
                'Fix the pattern',
            ],
        ),
        (
            'ignore_keys_bad_regex',
            dict(strict=True, ignore_checkpoint_keys=['step_[']),
            [
                r'ignore_checkpoint_keys has an invalid regex \(unterminated character set.*'
                r'Received: .step_\[.\. Fix the pattern',
            ],
        ),
        (
            'ignore_keys_a_string',
            dict(ignore_checkpoint_keys='global_step'),
            [
                'ignore_checkpoint_keys must be a list of regex strings; a single string is '
                r'not split into characters\. Wrap it in a list.*Received: '
                "ignore_checkpoint_keys='global_step'",
            ],
        ),
        (
            'rules_a_string',
            dict(rules='abc'),
            [
                r'rules must be a list of \(regex, replacement-or-None\) pairs, e\.g\. .*a '
                "single string is not split into characters. Received: rules='abc'",
            ],
        ),
        (
            'flags',
            dict(strict='yes', include_slots=1),
            [
                "strict must be True or False. Received: strict='yes'",
                'include_slots must be True or False. Received: include_slots=1',
            ],
        ),
        (
            'provenance_dir',
            dict(provenance_dir=3),
            [
                r'provenance_dir must be a non-empty directory .* or None\. Received: '
                'provenance_dir=3'
            ],
        ),
        (
            'mapping_keys',
            dict(var_name_to_prev_var_name={3: 'a'}, var_name_to_vocab_info={None: 1}),
            [
                r'var_name_to_vocab_info keys must be variable names \(str\) or variables.*'
                'Received: key=None',
                r'var_name_to_prev_var_name keys must be variable names \(str\).*Received: key=3',
            ],
        ),
        (
            'choices',
            dict(collection=['all'], dtype_policy=np.array([1, 2])),
            [
                r"collection must be 'trainable', 'all' or None\. Received: collection=\['all'\]",
                r"dtype_policy must be 'error' or 'cast'\. Received: dtype_policy=array",
            ],
        ),
    )
    def test_each_problem_says_what_expected_and_received(self, fields, patterns):
        problems = _settings_problems(**fields)
        self.assertLen(problems, len(patterns), msg=problems)
        for problem, pattern in zip(sorted(problems), sorted(patterns)):
            self.assertRegex(problem, pattern)
        self.assertTrue(_settings.WarmStartSettings('/c', **fields).malformed())

    def test_vocab_info_keyed_by_ref_with_a_wrong_value(self):
        variable = tf.Variable(tf.zeros([2, 2]), name='emb')
        fields = dict(var_name_to_vocab_info={variable.ref(): 'new_vocab.txt'})
        problems = _settings_problems(**fields)
        self.assertLen(problems, 1)
        self.assertRegex(
            problems[0],
            r'var_name_to_vocab_info values must be VocabInfo \(warm_start_hooks.VocabInfo or '
            r"tf.compat.v1.train.VocabInfo\)\. Received: 'emb:0': 'new_vocab.txt'",
        )

    def test_bad_vocab_info_fields_do_not_derail_planning(self):
        # Its own variable is left out, and the checkpoint is still checked.
        info = _settings.VocabInfo('n.txt', -1, 0, 'o.txt')
        s = _settings.WarmStartSettings('/c', var_name_to_vocab_info={'emb': info})
        self.assertLen(s.problems(), 1)
        self.assertFalse(s.malformed())


class BytesPathsTest(absltest.TestCase):
    """`Estimator.export_saved_model()` returns bytes; every path field takes them."""

    def test_settings_paths(self):
        s = _settings.WarmStartSettings(b'/models/old', provenance_dir=b'/tmp/out')
        self.assertEqual(s.ckpt_to_initialize_from, '/models/old')
        self.assertEqual(s.provenance_dir, '/tmp/out')
        self.assertEqual(s.problems(), [])
        self.assertEqual(dataclasses.replace(s, strict=True).ckpt_to_initialize_from, '/models/old')

    def test_vocab_paths_are_paths_not_byte_sequences(self):
        info = _settings.VocabInfo(b'/v/new.txt', 3, 0, b'/v/old.txt')
        self.assertEqual((info.new_vocab, info.old_vocab), ('/v/new.txt', '/v/old.txt'))
        tf_info = tf.compat.v1.train.VocabInfo(b'/v/new.txt', 3, 0, b'/v/old.txt')
        self.assertEqual(_settings.from_tf_vocab_info(tf_info), info)


# Values of every kind a field may wrongly be given.
_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.floats(allow_nan=True),
    st.text(max_size=4),
    st.binary(max_size=3),
    st.sampled_from(['(', 'a[', '*', '.*', 'skip', 'all', 'cast', 'emb', '']),
    st.lists(st.one_of(st.integers(), st.text(max_size=2), st.none()), max_size=3),
    st.dictionaries(
        st.sampled_from(['emb', '(', '']),
        st.one_of(st.integers(), st.text(max_size=2), st.none()),
        max_size=2,
    ),
    st.tuples(st.text(max_size=2)),
    st.just(object()),
    st.just(np.array([1, 2])),
)
_FIELDS = [f.name for f in dataclasses.fields(_settings.WarmStartSettings) if f.name != '_']
_VOCAB_FIELDS = [f.name for f in dataclasses.fields(_settings.VocabInfo) if f.name != '_']


class FuzzTest(parameterized.TestCase):
    """Any value in any field gives a plan or a WarmStartError, never another exception."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir())
        cls.variables = {'emb': tf.Variable(np.ones([3, 2], np.float32), name='emb')}
        tf.train.Checkpoint(emb=tf.Variable(np.zeros([3, 2], np.float32))).save(
            os.path.join(cls.dir, 'ckpt')
        )
        for name in ('new.txt', 'old.txt'):
            with open(os.path.join(cls.dir, name), 'w') as f:
                f.write('a\nb\nc\n')

    def _plan_or_error(self, settings):
        try:
            wsh.plan(settings, variables=self.variables)
        except wsh.WarmStartError as e:
            self.assertNotEmpty(e.problems)
        np.testing.assert_array_equal(self.variables['emb'].numpy(), np.ones([3, 2]))

    @hypothesis_settings(
        max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(field=st.sampled_from(_FIELDS), value=_JUNK)
    def test_settings_field(self, field, value):
        fields = {'ckpt_to_initialize_from': self.dir, field: value}
        self._plan_or_error(_settings.WarmStartSettings(**fields))
        # The same through a dict, as JSON settings and TensorFlow's forms arrive.
        try:
            settings = _coerce.coerce_settings(fields)
        except wsh.WarmStartError:
            return
        self._plan_or_error(settings)

    @hypothesis_settings(
        max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(field=st.sampled_from(_VOCAB_FIELDS), value=_JUNK)
    def test_vocab_info_field(self, field, value):
        fields = dict(
            new_vocab=os.path.join(self.dir, 'new.txt'),
            new_vocab_size=3,
            num_oov_buckets=0,
            old_vocab=os.path.join(self.dir, 'old.txt'),
        )
        fields[field] = value
        info = _settings.VocabInfo(**fields)
        self._plan_or_error(
            _settings.WarmStartSettings(self.dir, var_name_to_vocab_info={'emb': info})
        )


if __name__ == '__main__':
    absltest.main()
