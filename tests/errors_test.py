"""Tests of `_errors.py`."""

from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _errors


class ErrorsTest(parameterized.TestCase):
    def test_one_error_lists_every_problem(self):
        e = _errors.WarmStartError(['first thing', 'second thing'])
        self.assertEqual(e.problems, ['first thing', 'second thing'])
        text = str(e)
        self.assertIn('2 problems found. No variable was changed.', text)
        self.assertIn('  1. first thing', text)
        self.assertIn('  2. second thing', text)

    def test_value_error_compatible(self):
        # TensorFlow's warm_start raises ValueError for the same conditions.
        self.assertIsInstance(_errors.WarmStartError(['x']), ValueError)
        self.assertIsInstance(_errors.WarmStartError(['x']), _errors.Error)
        self.assertIsInstance(_errors.FrameworkMissingError('x'), ImportError)

    def test_raise_if_problems(self):
        _errors.raise_if_problems([])
        _errors.raise_if_problems(['', None])
        with self.assertRaisesRegex(_errors.WarmStartError, '1 problem found'):
            _errors.raise_if_problems(['bad', ''])

    @parameterized.named_parameters(
        ('close', 'dense/kernal', ['dense/kernel', 'dense/bias'], 'dense/kernel'),
        ('same_leaf', 'a/b/kernel', ['zzzz/kernel'], 'zzzz/kernel'),
    )
    def test_did_you_mean(self, name, candidates, expected):
        tip = _errors.did_you_mean(name, candidates)
        self.assertStartsWith(tip, ' Did you mean: ')
        self.assertIn(expected, tip)

    def test_did_you_mean_nothing_close(self):
        self.assertEqual(_errors.did_you_mean('abc', ['xyz/qqq']), '')


if __name__ == '__main__':
    absltest.main()
