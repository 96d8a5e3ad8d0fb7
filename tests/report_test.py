"""Tests of `_report.py`: the table, JSON and logging of a `WarmStartReport`."""

import json
import os

import numpy as np
import tensorflow as tf
from absl import logging
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh
from warm_start_hooks import _plan
from warm_start_hooks import _report


def _report_with_entries(applied=True):
    entries = (
        _plan.PlanEntry(
            name='emb',
            action='remap',
            source_key='old/emb',
            shape=(7, 3),
            source_shape=(4, 3),
            dtype='float32',
            source_dtype='float32',
            partitions=2,
            nbytes=84,
            vocab=_plan.VocabStats(0, 1, 2, 3, 1, 1, 'new.txt', 'old.txt', 'zeros'),
            renamed_by='var_name_to_prev_var_name',
        ),
        _plan.PlanEntry('w', 'copy', 'w', (3, 2), (3, 2), 'bfloat16', 'float32', 1, 12, cast=True),
        _plan.PlanEntry(
            'b', 'skip', None, (2,), None, 'float32', None, 1, 8, reason='ignored by rule 0'
        ),
    )
    return _report.WarmStartReport(
        source='/m/model.ckpt-5',
        requested='/m',
        object_based=False,
        entries=entries,
        unused_keys=('old/extra',),
        applied=applied,
        notes=('emb: a vocabulary has CRLF line ends (stripped).',),
        seconds=0.25,
    )


class ReportTest(parameterized.TestCase):
    def test_table(self):
        table = _report_with_entries().table()
        lines = table.splitlines()
        self.assertEqual(
            lines[0],
            'Warm-started 3 variable(s) from /m/model.ckpt-5 '
            '(1 copy, 1 remap, 1 skip; 96 B; 0.25s)',
        )
        self.assertRegex(lines[1], r'^variable\s+action\s+source\s+shape\s+dtype\s+details$')
        self.assertRegex(
            lines[3],
            r'^emb\s+remap\s+old/emb\s+7x3\s+float32\s+rows: 1 kept, 2 moved, 3 new, 1 oov, '
            r'1 dropped; init=zeros; 2 parts; via var_name_to_prev_var_name$',
        )
        self.assertRegex(lines[4], r'^w\s+copy \+cast\s+w\s+3x2\s+float32->bfloat16$')
        self.assertRegex(lines[5], r'^b\s+skip\s+-\s+2\s+float32\s+ignored by rule 0$')
        self.assertEqual(lines[6], 'Unused checkpoint tensors: old/extra')
        self.assertEqual(lines[7], 'Note: emb: a vocabulary has CRLF line ends (stripped).')
        self.assertEqual(str(_report_with_entries()), table)

    def test_dry_run_and_skipped_summaries(self):
        self.assertStartsWith(_report_with_entries(applied=False).summary(), 'Plan (dry run): 3')
        skipped = _report.WarmStartReport.skipped('/m', 'the model restored its own checkpoint')
        self.assertFalse(skipped.applied)
        self.assertEqual(
            skipped.summary(), 'Warm start skipped: the model restored its own checkpoint'
        )

    def test_json_round_trip(self):
        data = json.loads(_report_with_entries().to_json())
        self.assertEqual(data['counts'], {'copy': 1, 'remap': 1, 'skip': 1})
        self.assertEqual(data['entries'][0]['vocab']['new'], 3)
        self.assertEqual(data['entries'][0]['shape'], [7, 3])
        self.assertEqual(data['unused_keys'], ['old/extra'])
        self.assertTrue(data['applied'])
        self.assertEqual(_report.WarmStartReport.from_dict(data), _report_with_entries())

    def test_queries(self):
        r = _report_with_entries()
        self.assertEqual(r.entry('w').action, 'copy')
        self.assertEqual(r.names('skip'), ['b'])
        self.assertEqual(r.bytes_loaded, 96)
        with self.assertRaisesRegex(KeyError, "No variable 'zz'"):
            r.entry('zz')

    def test_log(self):
        with self.assertLogs(level='INFO') as logs:
            logging.get_absl_logger().propagate = True
            _report_with_entries().log()
        text = '\n'.join(logs.output)
        self.assertIn('Warm-started 3 variable(s)', text)
        self.assertIn('emb', text)

    def test_long_cells_are_shortened(self):
        entry = _plan.PlanEntry('x' * 90, 'copy', 'k', (1,), (1,), 'float32', 'float32', 1, 4)
        r = _report.WarmStartReport('/s', '/s', False, (entry,))
        self.assertIn('x' * 57 + '...', r.table())


class ObjectPathTest(absltest.TestCase):
    def test_sources_and_unused_tensors_are_named_by_model_paths(self):
        # The optimizer's path is shorter, so the saver keys both weights through it.
        model = tf.Module()
        model.layers = [tf.Module()]
        model.layers[0].kernel = tf.Variable(np.ones((2, 2), np.float32), name='kernel')
        model.layers[0].bias = tf.Variable(np.zeros((2,), np.float32), name='bias')
        model.optimizer = tf.Module()
        model.optimizer.k, model.optimizer.b = model.layers[0].kernel, model.layers[0].bias
        prefix = tf.train.Checkpoint(model=model).save(
            os.path.join(self.create_tempdir().full_path, 'ckpt')
        )
        report = wsh.warm_start(prefix, [model.layers[0].kernel], variables=model)
        (entry,) = report.entries
        self.assertEqual(entry.source_key, 'model/optimizer/k/.ATTRIBUTES/VARIABLE_VALUE')
        self.assertEqual(entry.source_path, 'model/layers/0/kernel')
        self.assertEqual(report.unused_names, ('model/layers/0/bias',))
        table = report.table()
        self.assertRegex(table, r'\nkernel +copy +model/layers/0/kernel ')
        self.assertIn('Unused checkpoint tensors: model/layers/0/bias', table)
        self.assertNotIn('optimizer', table)


if __name__ == '__main__':
    absltest.main()
