"""Tests of the `warm-start` command line's entry points (`warm_start_hooks._cli`).

Each subcommand has its own test file (cli_inspect_test, cli_vocab_diff_test,
cli_plan_test); helpers are in cliutil.
"""

import contextlib
import io

import cliutil
import numpy as np
from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _cli


class RunTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ('ok', ['inspect', 'CKPT'], 0),
        ('usage', ['inspect', 'MISSING'], 2),
        ('argparse', ['plan', '--model', 'CKPT'], 2),
    )
    def test_run_exits_with_status(self, argv, expected):
        d = self.create_tempdir().full_path
        prefix = cliutil.name_based(d, {'v': np.zeros(2, np.float32)})
        argv = [{'CKPT': prefix, 'MISSING': prefix + 'x'}.get(a, a) for a in argv]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            with self.assertRaises(SystemExit) as cm:
                _cli.run(argv)
        self.assertEqual(cm.exception.code, expected)


if __name__ == '__main__':
    absltest.main()
