"""Tests of `_provenance.py`: the JSON sidecar tying a model to its source."""

import os

import numpy as np
import tensorflow as tf
from absl.testing import absltest

import warm_start_hooks as wsh
from warm_start_hooks import _checkpoint
from warm_start_hooks import _provenance


class ProvenanceTest(absltest.TestCase):
    def test_sidecar_records_source_and_actions(self):
        d = self.create_tempdir().full_path
        w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name='w')
        prefix = tf.train.Checkpoint(w=w).save(os.path.join(d, 'src', 'ckpt'))
        target = tf.Variable(np.zeros((2, 3), np.float32), name='w')
        out_dir = os.path.join(d, 'model')
        report = wsh.warm_start(prefix, variables={'w': target}, provenance_dir=out_dir)
        data = _provenance.read(out_dir)
        self.assertEqual(data['format'], 1)
        self.assertEqual(data['source'], report.source)
        self.assertEqual(
            data['source_fingerprint_sha256'], _checkpoint.CheckpointSource(prefix).fingerprint()
        )
        self.assertTrue(data['object_based'])
        (var,) = data['variables']
        self.assertEqual((var['name'], var['action'], var['shape']), ('w', 'copy', [2, 3]))
        self.assertEqual(var['source_key'], 'w/.ATTRIBUTES/VARIABLE_VALUE')
        self.assertEqual(os.listdir(out_dir), [_provenance.FILENAME])

    def test_fingerprint_changes_with_the_checkpoint(self):
        d = self.create_tempdir().full_path
        w = tf.Variable([1.0, 2.0])
        ckpt = tf.train.Checkpoint(w=w)
        a = _checkpoint.CheckpointSource(ckpt.save(os.path.join(d, 'c'))).fingerprint()
        w.assign([3.0, 4.0])
        b = _checkpoint.CheckpointSource(ckpt.save(os.path.join(d, 'c'))).fingerprint()
        self.assertNotEqual(a, b)
        self.assertLen(a, 64)


if __name__ == '__main__':
    absltest.main()
