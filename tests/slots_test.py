"""Tests of optimizer slots following their variable (`_slots.py`)."""

import os

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh
from warm_start_hooks import _slots

tf1 = tf.compat.v1

OLD = ['apple', 'banana', 'guava', 'orange']
NEW = ['orange', 'guava', 'kiwi', 'apple', 'banana', 'mango']


def _oracle_rows(old_matrix, fill_value, oov=1):
    """Rows of NEW from OLD's rows; new tokens and OOV rows get `fill_value`."""
    rows = []
    for tok in NEW:
        rows.append(
            old_matrix[OLD.index(tok)] if tok in OLD else np.full(old_matrix.shape[1:], fill_value)
        )
    rows += [np.full(old_matrix.shape[1:], fill_value)] * oov
    return np.stack(rows).astype(np.float32)


class SlotIndexTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ('tf1_adagrad', 'emb/Adagrad', ('emb', 'tf1', 'Adagrad')),
        ('tf1_adam_v', 'scope/emb/Adam_1', ('scope/emb', 'tf1', 'Adam_1')),
        ('tf1_ftrl', 'emb/Ftrl_1', ('emb', 'tf1', 'Ftrl_1')),
        (
            'keras3',
            'adam/seq_emb_embeddings_momentum',
            ('seq/emb/embeddings', 'keras3', 'momentum'),
        ),
        ('keras2', 'm/emb/embeddings', ('emb/embeddings', 'keras2', 'm')),
        ('partition_is_not_slot', 'emb/part_0', None),
        ('unknown_parent', 'other/Adagrad', None),
        ('plain_variable', 'seq/emb/embeddings', None),
    )
    def test_parent(self, candidate, expected):
        index = _slots.SlotIndex(['emb', 'scope/emb', 'seq/emb/embeddings', 'emb/embeddings'])
        found = index.parent(candidate)
        if expected is None:
            self.assertIsNone(found)
        else:
            parent, slot = found
            self.assertEqual((parent, slot.form, slot.slot), expected)

    @parameterized.named_parameters(
        ('tf1', _slots.SlotName('tf1', 'Adagrad'), 'old/emb/Adagrad'),
        ('keras3', _slots.SlotName('keras3', 'velocity', 'adam'), 'adam/old_emb_velocity'),
        ('keras2', _slots.SlotName('keras2', 'v'), 'v/old/emb'),
    )
    def test_rename_follows_variable(self, slot, expected):
        self.assertEqual(slot.rename('old/emb'), expected)


class SlotWarmStartTest(parameterized.TestCase):
    def _vocab_files(self):
        d = self.create_tempdir().full_path
        old, new = os.path.join(d, 'old.txt'), os.path.join(d, 'new.txt')
        with open(old, 'w') as f:
            f.write('\n'.join(OLD) + '\n')
        with open(new, 'w') as f:
            f.write('\n'.join(NEW) + '\n')
        return d, old, new

    @parameterized.named_parameters(('one_part', 1), ('two_parts', 2))
    def test_tf1_adagrad_slot_remapped_with_its_variable(self, parts):
        d, old_vocab, new_vocab = self._vocab_files()
        old_emb = np.arange(12, dtype=np.float32).reshape(4, 3) + 1
        old_acc = old_emb * 10
        with tf.Graph().as_default():
            emb = tf1.get_variable('emb', initializer=old_emb)
            loss = tf.reduce_sum(emb)
            tf1.train.AdagradOptimizer(0.1).minimize(loss)
            slot = [v for v in tf1.global_variables() if v.op.name == 'emb/Adagrad'][0]
            with tf1.Session() as s:
                s.run(tf1.global_variables_initializer())
                s.run(slot.assign(old_acc))
                prefix = tf1.train.Saver().save(s, os.path.join(d, 'model.ckpt'))
        with tf.Graph().as_default():
            part = tf1.fixed_size_partitioner(parts) if parts > 1 else None
            emb = tf1.get_variable(
                'emb', shape=[7, 3], initializer=tf1.zeros_initializer(), partitioner=part
            )
            loss = tf.reduce_sum(emb if parts == 1 else tf.concat(list(emb), 0))
            tf1.train.AdagradOptimizer(0.1, initial_accumulator_value=0.25).minimize(loss)
            report = wsh.warm_start(
                prefix,
                ['.*'],
                {
                    'emb': wsh.VocabInfo(
                        new_vocab, 6, 1, old_vocab, backup_initializer=tf1.ones_initializer()
                    )
                },
                include_slots=True,
            )
            self.assertEqual(report.entry('emb/Adagrad').action, 'remap')
            self.assertEqual(report.entry('emb/Adagrad').renamed_by, 'slot of emb')
            with tf1.Session() as s:
                s.run(tf1.global_variables_initializer())
                values = {v.op.name: s.run(v) for v in tf1.global_variables()}
        got_emb = (
            np.concatenate(
                [
                    values[k]
                    for k in sorted(values)
                    if k.startswith('emb/part') and 'Adagrad' not in k
                ]
            )
            if parts > 1
            else values['emb']
        )
        got_acc = np.concatenate([values[k] for k in sorted(values) if k.endswith('Adagrad')])
        np.testing.assert_array_equal(got_emb, _oracle_rows(old_emb, 1.0))
        # New rows keep the optimizer's initial accumulator value.
        np.testing.assert_array_equal(got_acc, _oracle_rows(old_acc, 0.25))

    def test_slots_need_global_selection(self):
        d, old_vocab, new_vocab = self._vocab_files()
        with tf.Graph().as_default():
            tf1.get_variable('emb', initializer=np.ones((4, 3), np.float32))
            with tf1.Session() as s:
                s.run(tf1.global_variables_initializer())
                prefix = tf1.train.Saver().save(s, os.path.join(d, 'model.ckpt'))
        with tf.Graph().as_default():
            tf1.get_variable('emb', shape=[7, 3])
            with self.assertRaisesRegex(
                wsh.WarmStartError, "include_slots=True needs.*collection='all'"
            ):
                wsh.warm_start(
                    prefix,
                    '.*',
                    {'emb': wsh.VocabInfo(new_vocab, 6, 1, old_vocab)},
                    include_slots=True,
                )

    def test_keras_adam_slots_remapped_eagerly(self):
        import keras

        d, old_vocab, new_vocab = self._vocab_files()

        def model(rows):
            m = keras.Sequential(
                [keras.Input((1,), dtype='int32'), keras.layers.Embedding(rows, 3, name='emb')]
            )
            opt = keras.optimizers.Adam()
            opt.build(m.trainable_variables)
            return m, opt

        m, opt = model(4)
        emb = m.trainable_variables[0]
        old_emb = np.arange(12, dtype=np.float32).reshape(4, 3)
        emb.assign(old_emb)
        slot_values = {}
        for i, v in enumerate(opt.variables):
            if tuple(v.shape) == (4, 3):
                slot_values[i] = old_emb + 100 * (i + 1)
                v.assign(slot_values[i])
        prefix = tf.train.Checkpoint(model=m, optimizer=opt).save(os.path.join(d, 'ckpt'))

        m2, opt2 = model(7)
        # Fresh slots are zeros; make them distinctive to see that new rows keep them.
        for v in opt2.variables:
            if tuple(v.shape) == (7, 3):
                v.assign(np.full((7, 3), -5.0, np.float32))
        name = wsh._variables.variable_name(m2.trainable_variables[0])
        # The new model's auto-generated names differ from the saved ones (a second
        # model in this process); the variables are found by object path instead.
        report = wsh.warm_start(
            prefix,
            [f'{name}$|.*_(momentum|velocity)$|[mv]/'],  # Keras 3 or Keras 2 slot names.
            {name: wsh.VocabInfo(new_vocab, 6, 1, old_vocab)},
            variables=tf.train.Checkpoint(model=m2, optimizer=opt2),
            include_slots=True,
        )
        self.assertEqual(report.counts(), {'remap': 3}, report.table())
        np.testing.assert_array_equal(m2.trainable_variables[0].numpy(), _oracle_rows(old_emb, 0.0))
        remapped = [v for v in opt2.variables if tuple(v.shape) == (7, 3)]
        self.assertLen(remapped, 2)
        expected = [_oracle_rows(slot_values[i], -5.0) for i in sorted(slot_values)]
        np.testing.assert_array_equal(np.stack([v.numpy() for v in remapped]), np.stack(expected))


def _adagrad_checkpoint(directory):
    """emb [4, 3] and head [3, 2], each with a known Adagrad accumulator; the prefix."""
    with tf.Graph().as_default():
        emb = tf1.get_variable('emb', initializer=np.arange(12, dtype=np.float32).reshape(4, 3))
        head = tf1.get_variable('head', initializer=np.full((3, 2), 7.0, np.float32))
        tf1.train.AdagradOptimizer(0.1).minimize(tf.reduce_sum(emb) + tf.reduce_sum(head))
        with tf1.Session() as s:
            s.run(tf1.global_variables_initializer())
            for v in tf1.global_variables():
                if v.op.name.endswith('/Adagrad'):
                    s.run(v.assign(np.full(v.shape, 3.0 if 'emb' in v.op.name else 5.0)))
            return tf1.train.Saver().save(s, os.path.join(directory, 'model.ckpt'))


def _adagrad_values(warm_start):
    """Values of a fresh emb/head model (accumulators start at 0.25) after `warm_start()`."""
    with tf.Graph().as_default():
        emb = tf1.get_variable('emb', shape=[4, 3], initializer=tf1.zeros_initializer())
        head = tf1.get_variable('head', shape=[3, 2], initializer=tf1.zeros_initializer())
        tf1.train.AdagradOptimizer(0.1, initial_accumulator_value=0.25).minimize(
            tf.reduce_sum(emb) + tf.reduce_sum(head)
        )
        report = warm_start()
        with tf1.Session() as s:
            s.run(tf1.global_variables_initializer())
            return {v.op.name: s.run(v) for v in tf1.global_variables()}, report


class SlotRulesTest(parameterized.TestCase):
    """Slots follow their variable's rule, and rules may name slots; oracle: TF's warm_start."""

    def setUp(self):
        super().setUp()
        self.prefix = _adagrad_checkpoint(self.create_tempdir().full_path)

    def _assert_same(self, ours, theirs):
        self.assertEqual(sorted(ours), sorted(theirs))
        for name in theirs:
            np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)

    def test_ignored_variable_leaves_its_slots_fresh(self):
        ours, report = _adagrad_values(
            lambda: wsh.warm_start(self.prefix, ['.*'], rules=[('head', None)], include_slots=True)
        )
        # TensorFlow's regex 'emb' selects emb and emb/Adagrad: what warm-starting emb
        # with its slot and leaving head (and its slot) alone gives.
        theirs, _ = _adagrad_values(lambda: tf1.train.warm_start(self.prefix, ['emb']))
        self._assert_same(ours, theirs)
        np.testing.assert_array_equal(ours['head/Adagrad'], np.full((3, 2), 0.25))
        np.testing.assert_array_equal(ours['emb/Adagrad'], np.full((4, 3), 3.0))
        self.assertEqual(report.entry('head/Adagrad').action, 'skip')
        self.assertIn(
            "ignored with its variable 'head' (rule 0)", report.entry('head/Adagrad').reason
        )

    def test_rule_may_name_a_slot(self):
        ours, report = _adagrad_values(
            lambda: wsh.warm_start(
                self.prefix, ['.*'], rules=[('head/Adagrad', None)], include_slots=True
            )
        )
        theirs, _ = _adagrad_values(lambda: tf1.train.warm_start(self.prefix, ['emb', 'head:0']))
        self._assert_same(ours, theirs)
        np.testing.assert_array_equal(ours['head'], np.full((3, 2), 7.0))
        np.testing.assert_array_equal(ours['head/Adagrad'], np.full((3, 2), 0.25))
        self.assertEqual(report.entry('head/Adagrad').reason, 'ignored by rule 0')

    def test_renamed_variable_takes_its_slots_along(self):
        with tf.Graph().as_default():
            tf1.get_variable('new_emb', shape=[4, 3], initializer=tf1.zeros_initializer())
            emb = tf1.global_variables()[0]
            tf1.train.AdagradOptimizer(0.1).minimize(tf.reduce_sum(emb))
            report = wsh.warm_start(
                self.prefix, ['new_emb'], rules=[('new_emb', 'emb')], include_slots=True
            )
            with tf1.Session() as s:
                s.run(tf1.global_variables_initializer())
                values = {v.op.name: s.run(v) for v in tf1.global_variables()}
        np.testing.assert_array_equal(values['new_emb/Adagrad'], np.full((4, 3), 3.0))
        self.assertEqual(report.entry('new_emb/Adagrad').source_key, 'emb/Adagrad')

    def test_keras_slots_follow_an_ignored_variable(self):
        import keras

        def model(seed):
            m = keras.Sequential(
                [
                    keras.Input((3,)),
                    keras.layers.Dense(4, name='body'),
                    keras.layers.Dense(2, name='head'),
                ]
            )
            opt = keras.optimizers.Adam()
            opt.build(m.trainable_variables)
            rng = np.random.default_rng(seed)
            for v in m.variables + list(opt.variables):
                if v.dtype in ('float32', tf.float32) and len(v.shape):
                    v.assign(rng.normal(size=tuple(v.shape)).astype(np.float32))
            return m, opt

        m, opt = model(0)
        prefix = tf.train.Checkpoint(model=m, optimizer=opt).save(
            os.path.join(self.create_tempdir().full_path, 'ckpt')
        )
        m2, opt2 = model(1)
        before = {id(v): v.numpy().copy() for v in list(m2.variables) + list(opt2.variables)}
        head = m2.get_layer('head')
        ignored = {id(head.kernel), id(head.bias)}
        rules = [(wsh.variable_name(head.kernel), None), (wsh.variable_name(head.bias), None)]
        report = wsh.warm_start(
            prefix,
            ['.*'],
            variables=tf.train.Checkpoint(model=m2, optimizer=opt2),
            rules=rules,
            include_slots=True,
        )
        # Numpy oracle, slot by slot (both optimizers list their slots in the same order):
        # head's slots keep their fresh values, body's take the old ones, and the step
        # counter and learning rate (not slots) are left alone.
        checked = 0
        for old_v, new_v in zip(opt.variables, opt2.variables):
            shape = tuple(new_v.shape)
            if shape in ((3, 4), (4,)):
                np.testing.assert_array_equal(new_v.numpy(), old_v.numpy(), err_msg=new_v.name)
                checked += 1
            else:
                np.testing.assert_array_equal(new_v.numpy(), before[id(new_v)], err_msg=new_v.name)
        self.assertEqual(checked, 4)  # m and v of body's kernel and bias.
        for v in m2.variables:
            if id(v) in ignored:
                np.testing.assert_array_equal(v.numpy(), before[id(v)])
        self.assertEqual(report.counts()['skip'], 6)


if __name__ == '__main__':
    absltest.main()
