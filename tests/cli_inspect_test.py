"""Tests of `warm-start inspect` (`warm_start_hooks._cli_inspect`).

Checkpoint contents are checked against TensorFlow's own reader.
"""

import json
import os

import cliutil
import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized


class InspectTest(parameterized.TestCase):
    def test_name_based_table_matches_tf_reader(self):
        prefix = cliutil.name_based(
            self.create_tempdir().full_path, cliutil.old_values(), global_step=100
        )
        result = cliutil.cli_subprocess('inspect', os.path.dirname(prefix))
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertIn('name-based, 4 tensors', lines[0])
        self.assertIn(prefix, lines[0])
        table = {line.split()[0]: line.split()[1:] for line in lines[3:-1]}
        expected = {}
        reader = tf.train.load_checkpoint(prefix)
        dtypes = reader.get_variable_to_dtype_map()
        for name, shape in tf.train.list_variables(prefix):
            nbytes = int(np.prod(shape, dtype=np.int64)) * dtypes[name].size
            shape_text = 'x'.join(map(str, shape)) or 'scalar'
            expected[name] = [shape_text, dtypes[name].name, str(nbytes)]
        self.assertEqual(table, expected)
        self.assertEqual(lines[-1], 'Total: 88 bytes (88 B) in 4 tensors')

    def test_object_based_json_maps_names_to_keys(self):
        prefix = cliutil.object_based(self.create_tempdir().full_path)
        result = cliutil.cli_subprocess('inspect', prefix, '--json')
        self.assertEqual(result.returncode, 0, result.stderr)
        d = json.loads(result.stdout)
        self.assertTrue(d['object_based'])
        self.assertEqual(d['checkpoint'], prefix)
        key = 'model/emb/.ATTRIBUTES/VARIABLE_VALUE'
        self.assertEqual(d['names']['emb'], key)
        self.assertEqual(d['names']['model/emb'], key)
        self.assertEqual(
            d['names']['dense/kernel'], 'model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE'
        )
        shapes = {t['key']: t['shape'] for t in d['tensors']}
        self.assertEqual(shapes, {k: s for k, s in tf.train.list_variables(prefix) if k in shapes})
        self.assertNotIn('_CHECKPOINTABLE_OBJECT_GRAPH', shapes)
        self.assertEqual(d['total_bytes'], sum(t['bytes'] for t in d['tensors']))

    def test_object_based_table_lists_saved_names(self):
        prefix = cliutil.object_based(self.create_tempdir().full_path)
        code, out, _ = cliutil.cli_in_process('inspect', prefix)
        self.assertEqual(code, 0)
        self.assertIn('object-based, 3 tensors', out)
        self.assertRegex(out, r'\nemb +model/emb +model/emb/\.ATTRIBUTES/VARIABLE_VALUE\n')

    def test_repeated_saved_name_lists_every_tensor(self):
        module = tf.Module()
        module.w1 = tf.Variable(tf.ones([2, 3]))  # Unnamed: all three are 'Variable:0'.
        module.b1 = tf.Variable(tf.zeros([3]))
        module.w2 = tf.Variable(tf.ones([3, 3]))
        directory = self.create_tempdir().full_path
        prefix = tf.train.Checkpoint(model=module).save(os.path.join(directory, 'ckpt'))
        keys = [f'model/{n}/.ATTRIBUTES/VARIABLE_VALUE' for n in ('w1', 'b1', 'w2')]
        code, out, _ = cliutil.cli_in_process('inspect', prefix, '--json')
        self.assertEqual(code, 0)
        d = json.loads(out)
        self.assertCountEqual(d['repeated_names']['Variable'], keys)
        self.assertNotIn('Variable', d['names'])
        self.assertEqual(d['names']['model/b1'], keys[1])
        code, out, _ = cliutil.cli_in_process('inspect', prefix)
        for name in ('w1', 'b1', 'w2'):
            self.assertRegex(out, rf'\nVariable +model/{name} +model/{name}/\.ATTRIBUTES')

    def test_missing_checkpoint_exits_2(self):
        missing = os.path.join(self.create_tempdir().full_path, 'nope')
        result = cliutil.cli_subprocess('inspect', missing)
        self.assertEqual(result.returncode, 2)
        self.assertIn('warm-start inspect: error: No checkpoint found', result.stderr)
        self.assertEmpty(result.stdout)

    def test_corrupt_checkpoint_exits_1(self):
        directory = self.create_tempdir().full_path
        prefix = cliutil.name_based(directory, cliutil.old_values())
        cliutil.write(prefix + '.index', 'not an index')
        code, _, err = cliutil.cli_in_process('inspect', prefix)
        self.assertEqual(code, 1)
        self.assertIn('cannot be read', err)


if __name__ == '__main__':
    absltest.main()
