"""Tests of `_names.py`: pure name logic, no TensorFlow needed."""

from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _errors
from warm_start_hooks import _names


class NamesTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ('output_index', 'scope/w:0', 'scope/w'),
        ('second_output', 'scope/w:1', 'scope/w'),
        ('no_index', 'scope/w', 'scope/w'),
        ('colon_in_name', 'a:b', 'a:b'),
    )
    def test_strip_output_suffix(self, name, expected):
        self.assertEqual(_names.strip_output_suffix(name), expected)

    @parameterized.named_parameters(
        ('partition', 'emb/part_3', ('emb', 3)),
        ('nested', 'a/b/part_0', ('a/b', 0)),
        ('not_partition', 'emb/part_x', ('emb/part_x', None)),
        ('plain', 'emb', ('emb', None)),
    )
    def test_split_partition(self, name, expected):
        self.assertEqual(_names.split_partition(name), expected)

    @parameterized.named_parameters(
        ('bare', 'global_step', True),
        ('scoped', 'train/global_step', True),
        ('lookalike', 'global_steps', False),
        ('other', 'dense/kernel', False),
    )
    def test_is_global_step(self, name, expected):
        self.assertEqual(_names.is_global_step(name), expected)

    @parameterized.named_parameters(
        ('root', '/', '', 'dense/kernel', 'dense/kernel'),
        ('scope_to_scope', 'old/', 'new/', 'new/dense/kernel', 'old/dense/kernel'),
        ('root_from_scope', '/', 'new/', 'new/dense/kernel', 'dense/kernel'),
        ('outside_scope', 'old/', 'new/', 'other/dense/kernel', None),
    )
    def test_scope_map(self, ckpt_scope, var_scope, var_name, expected):
        self.assertEqual(_names.scope_map(ckpt_scope, var_scope, var_name), expected)


class RenameRulesTest(parameterized.TestCase):
    def test_backreferences_and_full_match(self):
        rules = _names.RenameRules([(r'new/(.*)', r'old/\1')])
        self.assertEqual(rules('new/dense/kernel').target, 'old/dense/kernel')
        # Full match, unlike TF's prefix re.match: 'x/new/...' is not renamed.
        self.assertIsNone(rules('x/new/dense'))

    def test_first_rule_wins_and_all_matches_are_listed(self):
        rules = _names.RenameRules([(r'(.*)/kernel', r'\1/w'), (r'dense/(.*)', r'fc/\1')])
        self.assertEqual(rules('dense/kernel').target, 'dense/w')
        self.assertEqual([m.rule_index for m in rules.all_matches('dense/kernel')], [0, 1])

    def test_none_replacement_means_ignore(self):
        rules = _names.RenameRules([(r'.*/Adam(_1)?', None)])
        self.assertIs(rules('emb/Adam_1').target, _names.IGNORE)
        self.assertEqual(rules('emb/Adam_1').rule_index, 0)

    def test_invalid_regexes_are_all_reported(self):
        with self.assertRaises(_errors.WarmStartError) as cm:
            _names.RenameRules([('(', 'x'), ('ok', 'y'), ('[', 'z')])
        self.assertLen(cm.exception.problems, 2)
        self.assertIn("Received: '('", cm.exception.problems[0])
        self.assertIn("Received: '['", cm.exception.problems[1])

    def test_pure_and_compiled_once(self):
        rules = _names.RenameRules([(r'a(\d)', r'b\1')])
        self.assertEqual([rules(n).target for n in ('a1', 'a2')], ['b1', 'b2'])
        self.assertLen(rules, 1)
        self.assertEqual(rules.patterns, [r'a(\d)'])

    def test_regex_problems(self):
        self.assertEqual(_names.regex_problems(['a.*', 'b'], 'x'), [])
        (problem,) = _names.regex_problems(['a(', 'b'], 'vars_to_warm_start')
        self.assertIn('vars_to_warm_start has an invalid regex', problem)
        self.assertIn("Received: 'a('", problem)

    def test_unused(self):
        self.assertEqual(_names.unused(['b', 'a', 'c'], ['c']), ['a', 'b'])


if __name__ == '__main__':
    absltest.main()
