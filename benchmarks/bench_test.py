"""Keeps the benchmark harness (`bench.py`) working: it runs at tiny sizes here.

No timing is asserted: only that every case ran every contender and reported
its figures, and that the warm starts agree with TensorFlow's on the values.
"""

import json
import math
import os
import subprocess
import sys

import bench
from absl.testing import absltest
from absl.testing import parameterized

# Run as a script, in its own processes, as users run it.
_BENCH = os.path.abspath(bench.__file__)
_REPO = os.path.dirname(os.path.dirname(_BENCH))
_CASES = ('vocab_p1', 'vocab_p4', 'small_vars', 'memory_bound', 'eager_embedding')
_FIGURES = ('seconds', 'build_seconds', 'run_seconds', 'peak_rss_delta_bytes', 'checksum')


def _run_bench(*args):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (_REPO, env.get('PYTHONPATH')) if p)
    env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    proc = subprocess.run(
        [sys.executable, _BENCH, '--quick', *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    return proc


class BenchTest(parameterized.TestCase):
    def _json(self, *args):
        out = os.path.join(self.create_tempdir().full_path, 'bench.json')
        proc = _run_bench(f'--json_out={out}', *args)
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:])
        with open(out) as f:
            return json.load(f), proc.stdout

    def _assert_figures(self, figures):
        for name in _FIGURES:
            self.assertIsInstance(figures[name], (int, float), name)
            self.assertTrue(math.isfinite(figures[name]), name)
        self.assertGreater(figures['seconds'], 0)
        self.assertGreaterEqual(figures['peak_rss_delta_bytes'], 0)

    def test_quick_runs_every_case_and_contender(self):
        out, stdout = self._json()
        results = out['results']
        self.assertEqual(sorted(results), sorted(_CASES))
        for case, by in results.items():
            expected = {'ours', 'restore'} | (
                {'ours_remap'} if case == 'eager_embedding' else {'tf_warm_start'}
            )
            self.assertEqual(set(by), expected, case)
            for who, figures in by.items():
                with self.subTest(case=case, contender=who):
                    self._assert_figures(figures)
        # The same remap as TensorFlow's warm_start, value for value (same sums).
        for case in ('vocab_p1', 'vocab_p4', 'memory_bound'):
            self.assertEqual(
                results[case]['ours']['checksum'], results[case]['tf_warm_start']['checksum'], case
            )
        self.assertEqual(
            results['small_vars']['ours']['checksum'], results['small_vars']['restore']['checksum']
        )
        self.assertEqual(
            results['eager_embedding']['ours']['checksum'],
            results['eager_embedding']['restore']['checksum'],
        )
        names = [r['ratio'] for r in out['ratios']]
        self.assertIn('vocab_p1: tf_warm_start / ours (time)', names)
        self.assertIn('memory_bound: ours peak RSS / variable bytes', names)
        self.assertIn('small_vars: ours / restore (time)', names)
        for r in out['ratios']:
            self.assertIsNotNone(r['value'], r['ratio'])
        self.assertGreater(out['machine']['cores'], 0)
        self.assertIn('tensorflow', out['machine'])
        self.assertIn('vocab_p1', stdout)

    def test_isolated_child_process(self):
        # Each contender in its own process, as the full benchmark runs them.
        out, _ = self._json(
            '--isolate', '--cases=small_vars,memory_bound', '--contenders=ours,restore'
        )
        self.assertTrue(out['isolated'])
        for case in ('small_vars', 'memory_bound'):
            self.assertEqual(set(out['results'][case]), {'ours', 'restore'})
            for figures in out['results'][case].values():
                self._assert_figures(figures)

    def test_unknown_case_is_a_usage_error(self):
        proc = _run_bench('--cases=nope')
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("Unknown case 'nope'", proc.stdout)


if __name__ == '__main__':
    absltest.main()
