"""Tests of planning and validation (`_plan.py`): every bad input is one error, nothing changes.

Each bad input is tried in eager mode (the variables keep their values) and
in graph mode (the initializers are not replaced: running
`global_variables_initializer` gives the fresh values).
"""

import os
from unittest import mock

import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh

tf1 = tf.compat.v1

OLD_VOCAB = ['apple', 'banana', 'guava', 'orange']
NEW_VOCAB = ['orange', 'kiwi', 'apple']  # 3 tokens + 1 OOV bucket = the 4 rows of 'emb'.

# The checkpoint holds the model's tensors and two decoys of the wrong shape / dtype.
CKPT = {
    'emb': np.arange(12, dtype=np.float32).reshape(4, 3) + 1,
    'dense/kernel': np.full((3, 2), 10, np.float32),
    'dense/bias': np.full((2,), 20, np.float32),
    'head/kernel': np.full((2, 2), 30, np.float32),
    'wide_kernel': np.full((5, 2), 40, np.float32),
    'count': np.array([1, 2], np.int32),
}
# The model's fresh values; none is a checkpoint value.
FRESH = {
    'emb': np.full((4, 3), -1, np.float32),
    'dense/kernel': np.full((3, 2), -2, np.float32),
    'dense/bias': np.full((2,), -3, np.float32),
    'head/kernel': np.full((2, 2), -4, np.float32),
}


def _vocab_case(new=None, prev=None, target='emb', **info):
    """A case that remaps `target` with a VocabInfo; `new` replaces the new vocab file."""

    def build(t):
        extra = dict(info)
        fields = dict(
            new_vocab=t.new_vocab if new is None else t.write('new_case.txt', new),
            new_vocab_size=3,
            num_oov_buckets=1,
            old_vocab=t.old_vocab,
        )
        if 'old' in extra:
            fields['old_vocab'] = t.write('old_case.txt', extra.pop('old'))
        if extra.pop('missing_file', False):
            fields['new_vocab'] = os.path.join(t.dir, 'no_such_vocab.txt')
        fields.update(extra)
        kwargs = {'var_name_to_vocab_info': {target: wsh.VocabInfo(**fields)}}
        if prev:
            kwargs['var_name_to_prev_var_name'] = prev
        return kwargs

    return build


# (name, kwargs builder, regexes the error must hold: one per problem).
CASES = (
    (
        'missing_tensor',
        lambda t: {'var_name_to_prev_var_name': {'dense/bias': 'no_such'}},
        [r"tensor 'no_such' is not in checkpoint"],
    ),
    (
        'shape_mismatch',
        lambda t: {'var_name_to_prev_var_name': {'dense/kernel': 'wide_kernel'}},
        [r"'dense/kernel' has shape \[3, 2\] but checkpoint tensor 'wide_kernel' has shape \[5"],
    ),
    (
        'dtype_mismatch',
        lambda t: {'var_name_to_prev_var_name': {'dense/bias': 'count'}},
        [r"'dense/bias' is float32 but checkpoint tensor 'count' is int32"],
    ),
    (
        'dtype_cast_needs_floats',
        lambda t: {'var_name_to_prev_var_name': {'dense/bias': 'count'}, 'dtype_policy': 'cast'},
        [r"'dense/bias' is float32 but checkpoint tensor 'count' is int32"],
    ),
    ('vocab_file_missing', _vocab_case(missing_file=True), [r'Vocabulary file not found']),
    ('vocab_empty', _vocab_case(new=''), [r'new vocabulary of .emb.* is empty']),
    (
        'vocab_duplicate_tokens',
        _vocab_case(new=['orange', 'kiwi', 'orange']),
        [r"duplicate tokens: 'orange' \(lines 1 and 3\)"],
    ),
    (
        'vocab_empty_line',
        _vocab_case(new=['orange', '', 'apple']),
        [r"new vocabulary of 'emb' .* has 1 empty line\(s\): line 2\. TensorFlow"],
    ),
    (
        'vocab_no_token_in_common',
        _vocab_case(new=['kiwi', 'lime', 'fig']),
        [r"none of the 3 tokens of the new vocabulary .*'kiwi', 'lime', 'fig'.* is in the old"],
    ),
    (
        'vocab_fewer_lines_than_size',
        _vocab_case(new=['orange', 'kiwi']),
        [r'has 2 tokens, fewer than the 3 its VocabInfo asks for'],
    ),
    ('vocab_not_utf8', _vocab_case(new=b'orange\n\xe9t\xe9\napple\n'), [r'not UTF-8']),
    (
        'old_vocab_longer_than_checkpoint',
        _vocab_case(old=OLD_VOCAB + ['mango']),
        [r'the old vocabulary has 5 tokens but checkpoint tensor .emb. has only 4 rows'],
    ),
    (
        'old_vocab_size_beyond_file',
        _vocab_case(old_vocab_size=6),
        [r'old vocabulary .* has 4 tokens, fewer than the 6'],
    ),
    (
        'negative_sizes',
        _vocab_case(new_vocab_size=-1, num_oov_buckets=-2, old_vocab_size=-3),
        [
            r'new_vocab_size must be >= 0',
            r'num_oov_buckets must be >= 0',
            r'old_vocab_size must be -1 \(every line\) or positive',
        ],
    ),
    ('zero_old_vocab_size', _vocab_case(old_vocab_size=0), [r'old_vocab_size must be -1']),
    (
        'sizes_do_not_fit_variable',
        _vocab_case(num_oov_buckets=2),
        [r"'emb' has 4 rows, but its VocabInfo gives new_vocab_size \+ num_oov_buckets = 3 \+ 2"],
    ),
    ('axis_not_0_or_1', _vocab_case(axis=2), [r'axis must be 0 \(rows.*Received: axis=2']),
    (
        'vocab_info_on_1d_variable',
        _vocab_case(target='dense/bias'),
        [r"'dense/bias' has a VocabInfo but is 1-D"],
    ),
    (
        'remap_other_axis_mismatch',
        _vocab_case(prev={'emb': 'wide_kernel'}),
        [r'axis 1 must match'],
    ),
    (
        'backup_initializer_not_callable',
        _vocab_case(backup_initializer='tf.zeros'),
        [r'backup_initializer must be callable'],
    ),
    (
        'donor_token_not_in_old_vocab',
        _vocab_case(new_row_init=('copy', 'mango')),
        [r"donor token 'mango' of new_row_init is not in the old vocabulary"],
    ),
    (
        'unused_prev_var_name',
        lambda t: {'var_name_to_prev_var_name': {'ghost': 'emb'}},
        [r"var_name_to_prev_var_name has 'ghost', which names no selected variable"],
    ),
    (
        'unused_vocab_info',
        _vocab_case(target='ghost'),
        [r"var_name_to_vocab_info has 'ghost', which names no selected variable"],
    ),
    (
        'regex_list_matches_nothing',
        lambda t: {'vars_to_warm_start': ['emb', 'nomatch.*']},
        [r"pattern 'nomatch\.\*' matches no global variable"],
    ),
    (
        'regex_string_matches_nothing',
        lambda t: {'vars_to_warm_start': 'nomatch'},
        [r"pattern 'nomatch' matches no trainable variable"],
    ),
    (
        'invalid_regex',
        lambda t: {'vars_to_warm_start': '(emb'},
        [r'vars_to_warm_start has an invalid regex'],
    ),
    (
        'rule_matches_nothing',
        lambda t: {'rules': [(r'zzz/(.*)', r'old/\1')]},
        [r"rule 0 \('zzz/\(\.\*\)'\) matches no selected variable"],
    ),
    ('rule_invalid_regex', lambda t: {'rules': [('(', 'x')]}, [r'rule 0 has an invalid regex']),
    (
        'two_rules_claim_one_variable',
        lambda t: {'rules': [(r'dense/(.*)', r'dense/\1'), (r'dense/b.*', 'dense/bias')]},
        [r"'dense/bias' is matched by 2 rules"],
    ),
    ('invalid_shape_policy', lambda t: {'shape_policy': 'pad'}, [r'shape_policy must be']),
    (
        'strict_with_unused_tensors',
        lambda t: {'strict': True},
        [r"strict mode: 2 checkpoint tensor\(s\) are not used: \['count', 'wide_kernel'\]"],
    ),
)


class _Fixture(parameterized.TestCase):
    """A checkpoint directory, two vocabulary files and the eager / graph checks."""

    def setUp(self):
        super().setUp()
        self.dir = self.create_tempdir().full_path
        self.ckpt_dir = os.path.join(self.dir, 'model')
        os.makedirs(self.ckpt_dir)
        testutil.write_checkpoint(os.path.join(self.ckpt_dir, 'model.ckpt-1'), CKPT)
        self.old_vocab = self.write('old.txt', OLD_VOCAB)
        self.new_vocab = self.write('new.txt', NEW_VOCAB)

    def write(self, name, content):
        """Writes a vocabulary: a token list (one a line), str or bytes as given."""
        if isinstance(content, list):
            content = ''.join(t + '\n' for t in content)
        if isinstance(content, str):
            content = content.encode('utf-8')
        path = os.path.join(self.dir, name)
        with open(path, 'wb') as f:
            f.write(content)
        return path

    def assert_rejected_eager(self, kwargs, patterns, ckpt=None):
        variables = {n: tf.Variable(v, name=n) for n, v in FRESH.items()}
        with self.assertRaises(wsh.WarmStartError) as cm:
            wsh.warm_start(ckpt or self.ckpt_dir, variables=variables, **kwargs)
        self._check_error(cm.exception, patterns)
        for name, v in variables.items():
            np.testing.assert_array_equal(v.numpy(), FRESH[name], err_msg=name)
        return cm.exception

    def assert_rejected_graph(self, kwargs, patterns, ckpt=None):
        with tf.Graph().as_default():
            variables = {n: tf1.get_variable(n, initializer=v) for n, v in FRESH.items()}
            before = {n: v.initializer for n, v in variables.items()}
            with self.assertRaises(wsh.WarmStartError) as cm:
                wsh.warm_start(ckpt or self.ckpt_dir, **kwargs)
            for name, v in variables.items():
                self.assertIs(v.initializer, before[name], name)
            with tf1.Session() as sess:
                sess.run(tf1.global_variables_initializer())
                values = sess.run(variables)
        self._check_error(cm.exception, patterns)
        for name, value in values.items():
            np.testing.assert_array_equal(value, FRESH[name], err_msg=name)
        return cm.exception

    def _check_error(self, error, patterns):
        message = str(error)
        self.assertIn('No variable was changed.', message)
        for pattern in patterns:
            self.assertRegex(message, pattern)
        # One listed problem per expected problem: no cascade of follow-on messages.
        self.assertLen(error.problems, len(patterns), message)


class PlanValidationTest(_Fixture):
    def test_valid_inputs_apply(self):
        # The fixture itself is valid: every case below fails only for its own reason.
        info = wsh.VocabInfo(self.new_vocab, 3, 1, self.old_vocab)
        variables = {n: tf.Variable(v, name=n) for n, v in FRESH.items()}
        report = wsh.warm_start(
            self.ckpt_dir, variables=variables, var_name_to_vocab_info={'emb': info}
        )
        self.assertFalse(report.notes)
        expected = np.stack([CKPT['emb'][3], np.zeros(3), CKPT['emb'][0], np.zeros(3)])
        np.testing.assert_array_equal(variables['emb'].numpy(), expected)
        np.testing.assert_array_equal(variables['head/kernel'].numpy(), CKPT['head/kernel'])

    @parameterized.named_parameters(*CASES)
    def test_rejected_eager(self, build, patterns):
        self.assert_rejected_eager(build(self), patterns)

    @parameterized.named_parameters(*CASES)
    def test_rejected_graph(self, build, patterns):
        self.assert_rejected_graph(build(self), patterns)

    def _combined(self):
        bad_new = self.write('bad_new.txt', ['orange', 'orange'])  # A duplicate, and too short.
        return {
            'vars_to_warm_start': ['emb', 'dense/.*', 'head/.*', 'nomatch'],
            'var_name_to_prev_var_name': {
                'head/kernel': 'no_such',
                'dense/kernel': 'wide_kernel',
                'dense/bias': 'count',
                'ghost': 'emb',
            },
            'var_name_to_vocab_info': {
                'emb': wsh.VocabInfo(bad_new, 3, 1, self.old_vocab),
                'ghost_emb': wsh.VocabInfo(self.new_vocab, 3, -1, self.old_vocab),
            },
        }

    _COMBINED = [
        r"pattern 'nomatch' matches no global variable",
        r"'head/kernel': tensor 'no_such' is not in checkpoint",
        r"'dense/kernel' has shape \[3, 2\] but checkpoint tensor 'wide_kernel'",
        r"'dense/bias' is float32 but checkpoint tensor 'count' is int32",
        r'has 2 tokens, fewer than the 3',
        r"duplicate tokens: 'orange' \(lines 1 and 2\)",
        r"var_name_to_prev_var_name has 'ghost'",
        r"var_name_to_vocab_info has 'ghost_emb'",
        r"VocabInfo for variable 'ghost_emb': num_oov_buckets must be >= 0",
    ]

    def test_many_problems_in_one_error_eager(self):
        error = self.assert_rejected_eager(self._combined(), self._COMBINED)
        self.assertRegex(str(error), r'^The warm start was not applied: 9 problems found')

    def test_many_problems_in_one_error_graph(self):
        self.assert_rejected_graph(self._combined(), self._COMBINED)

    def test_plan_changes_nothing_and_lists_the_same_problems(self):
        variables = {n: tf.Variable(v, name=n) for n, v in FRESH.items()}
        with self.assertRaises(wsh.WarmStartError) as cm:
            wsh.plan(wsh.WarmStartSettings(self.ckpt_dir, **self._combined()), variables=variables)
        self._check_error(cm.exception, self._COMBINED)

    def test_settings_from_json_are_data_not_code(self):
        # A JSON settings file can only give strings: they are never evaluated.
        settings = {
            'ckpt_to_initialize_from': self.ckpt_dir,
            'var_name_to_vocab_info': {
                'emb': {
                    'new_vocab': self.new_vocab,
                    'new_vocab_size': 3,
                    'num_oov_buckets': 1,
                    'old_vocab': self.old_vocab,
                    'backup_initializer': "__import__('os').remove('x')",
                }
            },
        }
        variables = {n: tf.Variable(v, name=n) for n, v in FRESH.items()}
        with self.assertRaisesRegex(wsh.WarmStartError, 'backup_initializer must be callable'):
            wsh.plan(settings, variables=variables)


class CrlfVocabularyTest(_Fixture):
    """CRLF line ends are stripped as TensorFlow's GenerateVocabRemapping strips them."""

    @parameterized.named_parameters(
        ('both_crlf', True, True),
        ('only_new_crlf', True, False),
        ('only_old_crlf', False, True),
    )
    def test_crlf_is_read_like_tensorflow_with_a_note(self, new_crlf, old_crlf):
        def crlf(tokens, on):
            return ''.join(t + ('\r\n' if on else '\n') for t in tokens)

        new = self.write('new_crlf.txt', crlf(NEW_VOCAB, new_crlf))
        old = self.write('old_crlf.txt', crlf(OLD_VOCAB, old_crlf))

        def fill(shape, dtype=tf.float32, partition_info=None):
            del partition_info
            return tf.fill(shape, tf.constant(-7.0, dtype))

        ours = self._graph_value(
            lambda: wsh.warm_start(
                self.ckpt_dir,
                'emb',
                var_name_to_vocab_info={'emb': wsh.VocabInfo(new, 3, 1, old, -1, fill)},
            )
        )
        report = ours[1]
        theirs = self._graph_value(
            lambda: tf1.train.warm_start(
                self.ckpt_dir,
                'emb',
                var_name_to_vocab_info={'emb': tf1.train.VocabInfo(new, 3, 1, old, -1, fill)},
            )
        )
        np.testing.assert_array_equal(ours[0], theirs[0])
        expected = np.stack([CKPT['emb'][3], np.full(3, -7), CKPT['emb'][0], np.full(3, -7)])
        np.testing.assert_array_equal(ours[0], expected)
        self.assertLen(report.notes, 1)
        self.assertRegex(report.notes[0], r'emb: a vocabulary has CRLF line ends \(stripped\)')

    def _graph_value(self, warm_start):
        with tf.Graph().as_default():
            v = tf1.get_variable('emb', initializer=FRESH['emb'])
            result = warm_start()
            with tf1.Session() as sess:
                sess.run(tf1.global_variables_initializer())
                return sess.run(v), result


class SharedVocabularyTest(parameterized.TestCase):
    def test_a_vocabulary_pair_is_checked_and_remapped_once(self):
        d = self.create_tempdir()
        testutil.write_checkpoint(
            os.path.join(d.full_path, 'ckpt'),
            {'a': np.ones((4, 3), np.float32), 'b': np.full((4, 2), 2.0, np.float32)},
        )
        old = d.create_file('old.txt', content='\n'.join(OLD_VOCAB) + '\n').full_path
        new = d.create_file('new.txt', content='\n'.join(NEW_VOCAB) + '\n').full_path
        variables = {
            'a': tf.Variable(np.zeros((4, 3), np.float32)),
            'b': tf.Variable(np.zeros((4, 2), np.float32)),
        }
        infos = {name: wsh.VocabInfo(new, 3, 1, old) for name in variables}
        from warm_start_hooks import _vocab

        with mock.patch.object(_vocab, 'remapping', wraps=_vocab.remapping) as remapping:
            with mock.patch.object(_vocab, 'problems', wraps=_vocab.problems) as problems:
                report = wsh.warm_start(d.full_path, '.*', infos, variables=variables)
        self.assertEqual(remapping.call_count, 1)
        self.assertEqual(problems.call_count, 2)  # The new and the old vocabulary.
        self.assertEqual(report.counts(), {'remap': 2})
        np.testing.assert_array_equal(
            variables['b'].numpy(),
            [[2, 2], [0, 0], [2, 2], [0, 0]],  # orange, kiwi, apple, OOV
        )
        np.testing.assert_array_equal(variables['a'].numpy()[1], [0, 0, 0])  # 'kiwi' is new


if __name__ == '__main__':
    absltest.main()
