"""Tests of `_plan_select.py`: per-variable settings keyed to the variable they name."""

import os

import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh
from warm_start_hooks import _plan_select
from warm_start_hooks import _variables

OLD_VOCAB = ['apple', 'banana', 'guava', 'orange']
NEW_VOCAB = ['orange', 'kiwi', 'apple', 'banana']


class _Twins(tf.Module):
    """Two unnamed variables of one shape: both are 'Variable:0'."""

    def __init__(self, value):
        super().__init__()
        self.a = tf.Variable(np.full((4, 3), value, np.float32))
        self.b = tf.Variable(np.full((4, 3), value, np.float32))


class KeyedSettingsTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        d = self.create_tempdir().full_path
        old = _Twins(0.0)
        old.a.assign(np.arange(12, dtype=np.float32).reshape(4, 3))
        old.b.assign(np.arange(12, dtype=np.float32).reshape(4, 3) + 100)
        self.old = old
        self.prefix = tf.train.Checkpoint(model=old).save(os.path.join(d, 'ckpt'))
        self.info = wsh.VocabInfo(
            testutil.write_lines(d, 'new.txt', NEW_VOCAB),
            4,
            0,
            testutil.write_lines(d, 'old.txt', OLD_VOCAB),
        )

    def test_ref_key_remaps_that_variable_only(self):
        new = _Twins(-1.0)
        report = wsh.warm_start(
            self.prefix, variables=new, var_name_to_vocab_info={new.b.ref(): self.info}
        )
        # Numpy oracle: b's rows by token from the old b; a copied as restore would.
        old_b = self.old.b.numpy()
        want_b = np.stack([old_b[3], np.zeros(3), old_b[0], old_b[1]])
        np.testing.assert_array_equal(new.b.numpy(), want_b)
        np.testing.assert_array_equal(new.a.numpy(), self.old.a.numpy())
        self.assertEqual(report.entry('Variable@b').action, 'remap')
        self.assertEqual(report.entry('Variable@a').action, 'copy')

    def test_name_key_of_two_variables_is_refused(self):
        new = _Twins(-1.0)
        with self.assertRaisesRegex(
            wsh.WarmStartError,
            r"var_name_to_vocab_info has 'Variable', but 2 selected variables have that name "
            r'\(Variable at a, Variable at b\)',
        ):
            wsh.warm_start(
                self.prefix, variables=new, var_name_to_vocab_info={'Variable': self.info}
            )
        np.testing.assert_array_equal(new.a.numpy(), np.full((4, 3), -1.0))

    def test_same_variable_keyed_twice_is_refused(self):
        v = tf.Variable(np.zeros((4, 3), np.float32), name='emb')
        found, problems = _plan_select.key_to_targets(
            {'emb': 'x', v.ref(): 'y'},
            'var_name_to_prev_var_name',
            _variables.to_targets([v]),
            ['emb'],
        )
        self.assertLen(found, 1)
        (problem,) = problems
        self.assertIn("gives variable 'emb' twice", problem)

    def test_ref_of_unselected_variable_is_unused(self):
        v, other = tf.Variable(1.0, name='kept'), tf.Variable(2.0, name='other')
        _, problems = _plan_select.key_to_targets(
            {other.ref(): 'x'}, 'var_name_to_prev_var_name', _variables.to_targets([v]), []
        )
        (problem,) = problems
        self.assertIn("has 'other', which names no selected variable", problem)

    def test_entry_ids_are_unique(self):
        a, b, c = (tf.Variable(1.0, name='w') for _ in range(3))
        targets = _variables.to_targets([a, b, c, tf.Variable(1.0, name='v')])
        targets[0].path = 'layers/0/w'
        ids = _plan_select.entry_ids(targets)
        self.assertEqual([ids[id(t)] for t in targets], ['w@layers/0/w', 'w#2', 'w#3', 'v'])


if __name__ == '__main__':
    absltest.main()
