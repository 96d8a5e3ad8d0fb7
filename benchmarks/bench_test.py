"""Keeps the benchmark harness (`bench.py`) working: it runs at tiny sizes here.

No timing is asserted: only that every case ran every contender the same
number of times and reported its figures, and that the warm starts agree on
the values (sha256) with TensorFlow's, and the eager remap with a numpy oracle.
"""

import hashlib
import importlib.util
import json
import math
import os
import subprocess
import sys

import bench
import bench_report
import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

# Run as a script, in its own processes, as users run it.
_BENCH = os.path.abspath(bench.__file__)
_REPO = os.path.dirname(os.path.dirname(_BENCH))
_CASES = ('vocab_p1', 'vocab_p4', 'scale_6000', 'small_vars', 'memory_bound', 'eager_embedding')
_FIGURES = ('seconds', 'build_seconds', 'run_seconds', 'peak_rss_delta_bytes', 'checksum')


def _run_bench(*args):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (_REPO, env.get('PYTHONPATH')) if p)
    env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    return subprocess.run(
        [sys.executable, _BENCH, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )


def _lines(path):
    with open(path, encoding='utf-8') as f:
        return f.read().splitlines()


class BenchTest(parameterized.TestCase):
    def _json(self, *args):
        d = self.create_tempdir().full_path
        out = os.path.join(d, 'bench.json')
        workdir = os.path.join(d, 'work')
        proc = _run_bench('--quick', f'--json_out={out}', f'--workdir={workdir}', *args)
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:])
        with open(out) as f:
            return json.load(f), proc.stdout, workdir

    def _assert_figures(self, figures, repeats=1):
        for name in _FIGURES:
            self.assertIsInstance(figures[name], (int, float), name)
            self.assertTrue(math.isfinite(figures[name]), name)
        self.assertGreater(figures['seconds'], 0)
        self.assertGreaterEqual(figures['peak_rss_delta_bytes'], 0)
        self.assertLen(figures['sha256'], 64)
        self.assertLen(figures['runs_seconds'], repeats)
        self.assertEqual(figures['seconds'], min(figures['runs_seconds']))

    def test_quick_runs_every_case_and_contender(self):
        out, stdout, workdir = self._json('--repeats=2')
        results = out['results']
        self.assertEqual(sorted(results), sorted(_CASES))
        for case, by in results.items():
            expected = {'ours', 'restore', 'tf_warm_start'}
            if case == 'eager_embedding':
                expected.add('ours_remap')
            self.assertEqual({k for k in by if not k.startswith('_')}, expected, case)
            for who in expected:
                with self.subTest(case=case, contender=who):
                    self._assert_figures(by[who], repeats=2)  # Every contender, every run.
        # The same values as TensorFlow's warm_start (graph and eager) and restore.
        self.assertLen(out['same_values'], 8)
        for name, same in out['same_values'].items():
            self.assertTrue(same, name)
        names = [r['ratio'] for r in out['ratios']]
        self.assertIn('vocab_p1: tf_warm_start / ours (time)', names)
        self.assertIn('scale_6000 / vocab_p1: ours time per row', names)
        self.assertIn('memory_bound: ours peak RSS / variable bytes', names)
        self.assertIn('small_vars: ours / restore step alone (time)', names)
        for r in out['ratios']:
            self.assertIsNotNone(r['value'], r['ratio'])
        self.assertGreater(out['machine']['cores'], 0)
        self.assertIn('tensorflow', out['machine'])
        self.assertIn('vocab_p1', stdout)
        self._assert_eager_remap_is_the_oracle(out, workdir)
        tables = bench_report.markdown(out)
        self.assertIn('| vocab_p1 | ours |', tables)
        self.assertIn('| eager_embedding: ours_remap == tf_warm_start | same |', tables)

    def _assert_eager_remap_is_the_oracle(self, out, workdir):
        with open(os.path.join(workdir, 'eager_embedding.json')) as f:
            spec = json.load(f)
        old = tf.train.load_variable(spec['prefix'], spec['key'])
        row = {t: i for i, t in enumerate(_lines(spec['old_vocab']))}
        new = _lines(spec['new_vocab'])
        expected = np.zeros_like(old)
        for i, token in enumerate(new):
            if token in row:
                expected[i] = old[row[token]]
        got = out['results']['eager_embedding']['ours_remap']
        self.assertEqual(got['sha256'], hashlib.sha256(expected.tobytes()).hexdigest())
        self.assertAlmostEqual(got['checksum'], float(expected.sum(dtype=np.float64)), places=3)

    def test_isolated_child_process(self):
        # Each contender in its own process, as the full benchmark runs them.
        out, _, _ = self._json(
            '--isolate', '--cases=small_vars,memory_bound', '--contenders=ours,restore'
        )
        self.assertTrue(out['isolated'])
        for case in ('small_vars', 'memory_bound'):
            self.assertEqual({k for k in out['results'][case] if k[0] != '_'}, {'ours', 'restore'})
            for who in ('ours', 'restore'):
                self._assert_figures(out['results'][case][who])

    def test_unknown_case_is_a_usage_error(self):
        proc = _run_bench('--quick', '--cases=nope')
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("Unknown case 'nope'", proc.stdout)

    def test_plot_from_results(self):
        path = os.path.join(self.create_tempdir().full_path, 'plot.png')
        rows = {'vocab_p1': 1000, 'scale_3000': 3000}
        out = {
            'machine': {'tensorflow': 'x'},
            'results': {
                case: {'_rows': n, 'ours': {'seconds': n / 1e3}, 'restore': {'seconds': n / 1e4}}
                for case, n in rows.items()
            },
        }
        self.assertEqual(
            bench_report.scale_points(out),
            {'ours': [(1000, 1.0), (3000, 3.0)], 'restore': [(1000, 0.1), (3000, 0.3)]},
        )
        results = os.path.join(os.path.dirname(path), 'r.json')
        with open(results, 'w') as f:
            json.dump(out, f)
        proc = _run_bench(f'--plot_from={results}', f'--plot_out={path}')
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:])
        if importlib.util.find_spec('matplotlib') is None:
            self.assertIn('matplotlib is not installed', proc.stdout)
        else:
            with open(path, 'rb') as f:
                self.assertEqual(f.read(8), b'\x89PNG\r\n\x1a\n')


if __name__ == '__main__':
    absltest.main()
