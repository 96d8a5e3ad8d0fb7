"""Tests of `_errors.py`."""

import os
import pickle
import subprocess
import sys

import tensorflow as tf
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

    @parameterized.named_parameters(
        ('warm_start_error', lambda: _errors.WarmStartError(['a', 'b'], 'init_from_checkpoint')),
        ('not_found', lambda: _errors.CheckpointNotFoundError(['a', 'b'], 'init_from_checkpoint')),
    )
    def test_pickles_with_its_problems(self, make):
        # Errors cross process boundaries (multiprocessing, distributed jobs).
        e = make()
        back = pickle.loads(pickle.dumps(e))
        self.assertIs(type(back), type(e))
        self.assertEqual(back.problems, ['a', 'b'])
        self.assertEqual(back.context, 'init_from_checkpoint')
        self.assertEqual(str(back), str(e))

    def test_with_earlier_keeps_the_kind(self):
        e = _errors.CheckpointNotFoundError('No checkpoint found at x.')
        both = e.with_earlier(['collection must be ...'])
        self.assertIsInstance(both, tf.errors.NotFoundError)
        self.assertEqual(both.problems, ['collection must be ...', 'No checkpoint found at x.'])


class CheckpointNotFoundErrorTest(absltest.TestCase):
    """A missing checkpoint is what TensorFlow raises, and a WarmStartError."""

    def test_is_tensorflow_not_found_and_warm_start_error(self):
        e = _errors.CheckpointNotFoundError('No checkpoint found at /x.')
        for kind in (
            tf.errors.NotFoundError,
            tf.errors.OpError,
            _errors.WarmStartError,
            ValueError,
        ):
            try:
                raise e
            except kind as caught:
                self.assertIs(caught, e)
        self.assertEqual(e.error_code, tf.errors.NOT_FOUND)
        self.assertIsNone(e.op)
        self.assertIsNone(e.node_def)
        self.assertEqual(e.problems, ['No checkpoint found at /x.'])
        text = 'The warm start was not applied: 1 problem found. No variable was changed.'
        self.assertEqual(str(e), f'{text}\n  1. No checkpoint found at /x.')
        self.assertEqual(e.message, str(e))
        self.assertEqual(e.args, (str(e),))

    def test_the_module_imports_tensorflow_only_when_the_class_is_used(self):
        # The pure modules import _errors; TensorFlow is imported when this class is first used.
        path = os.path.join(os.path.dirname(_errors.__file__), '_errors.py')
        code = (
            'import importlib.util, sys\n'
            f'spec = importlib.util.spec_from_file_location("errors_alone", {path!r})\n'
            'm = importlib.util.module_from_spec(spec)\n'
            'spec.loader.exec_module(m)\n'
            'print("tensorflow" in sys.modules)\n'
            'm.CheckpointNotFoundError\n'
            'print("tensorflow" in sys.modules)\n'
        )
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
        out = subprocess.run(
            [sys.executable, '-c', code], capture_output=True, text=True, env=env, check=True
        )
        self.assertEqual(out.stdout.split(), ['False', 'True'])


if __name__ == '__main__':
    absltest.main()
