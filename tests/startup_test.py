"""Tests of the entry points' start-up (`warm_start_hooks._startup`).

What a user sees is checked in child processes, with `TF_CPP_MIN_LOG_LEVEL`
unset as in a fresh shell: the file descriptor a child writes to is its real
stderr, which no in-process capture can stand in for.
"""

import contextlib
import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _cli
from warm_start_hooks import _startup

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Start-up lines as TensorFlow 2.15 and 2.21 print them.
_NOTICES = {
    'onednn_tf215': '2026-12-01 22:36:51.812246: I tensorflow/core/util/port.cc:113] oneDNN '
    'custom operations are on. You may see slightly different numerical results due to '
    'floating-point round-off errors from different computation orders. To turn them off, set '
    'the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.',
    'onednn_tf221': 'I0000 00:00:1796164586.822128   12681 port.cc:153] oneDNN custom '
    'operations are on. You may see slightly different numerical results due to floating-point '
    'round-off errors from different computation orders. To turn them off, set the environment '
    'variable `TF_ENABLE_ONEDNN_OPTS=0`.',
    'cpu_tf215': '2026-12-01 22:36:51.962126: I tensorflow/core/platform/cpu_feature_guard.cc:182'
    '] This TensorFlow binary is optimized to use available CPU instructions in '
    'performance-critical operations.',
    'cpu_tf221': 'I0000 00:00:1796164586.926421   12681 cpu_feature_guard.cc:227] This '
    'TensorFlow binary is optimized to use available CPU instructions in performance-critical '
    'operations.',
    'cpu_continued': 'To enable the following instructions: AVX2 AVX512F FMA, in other '
    'operations, rebuild TensorFlow with the appropriate compiler flags.',
    'before_init_log': 'WARNING: All log messages before absl::InitializeLog() is called are '
    'written to STDERR',
    'cudnn_factory': 'E0000 00:00:1716151253.010455   12345 cuda_dnn.cc:8310] Unable to '
    'register cuDNN factory: Attempting to register factory for plugin cuDNN when one has '
    'already been registered',
    'cuda_drivers': '2024-05-19 20:40:53.010455: I external/local_tsl/tsl/cuda/cudart_stub.cc:'
    '31] Could not find cuda drivers on your machine, GPU will not be used.',
    'tensorrt': '2024-05-19 20:40:54.010455: W tensorflow/compiler/tf2tensorrt/utils/'
    'py_utils.cc:38] TF-TRT Warning: Could not find TensorRT',
}
# Lines that must always be shown.
_PROBLEMS = {
    'traceback': 'Traceback (most recent call last):',
    'op_error': '2026-12-01 22:36:51.962126: W tensorflow/core/framework/op_kernel.cc:1827] '
    'OP_REQUIRES failed at save_restore_v2_ops.cc:227 : NOT_FOUND: Key emb not found',
    'absl_error': 'E0000 00:00:1796164586.926421   12681 op_kernel.cc:1827] OP_REQUIRES failed',
    'python_warning': 'warnings.warn(UserWarning: oneDNN custom operations are on)',
    'plain': 'This TensorFlow binary is optimized, says a user.',
}


def _python(code, **env):
    """Runs `code` in a child Python with this tree first on the path; returns the result."""
    environ = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
    environ.update(PYTHONPATH=_REPO, **env)
    return subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
    )


class NoticeTest(parameterized.TestCase):
    @parameterized.named_parameters(*_NOTICES.items())
    def test_notice(self, line):
        self.assertTrue(_startup.is_notice(line + '\n'))

    @parameterized.named_parameters(*_PROBLEMS.items())
    def test_not_a_notice(self, line):
        self.assertFalse(_startup.is_notice(line + '\n'))


class FilteredStderrTest(absltest.TestCase):
    def test_drops_notices_and_keeps_the_rest_in_order(self):
        lines = [_NOTICES['onednn_tf221'], _PROBLEMS['op_error'], _NOTICES['cpu_continued']]
        result = _python(
            f"""
            import os, sys
            from warm_start_hooks import _startup
            print('before', file=sys.stderr, flush=True)
            with _startup.filtered_stderr():
                for line in {lines!r}:
                    os.write(2, (line + '\\n').encode())  # As C++ code writes.
                print('from python', file=sys.stderr)
                os.write(2, b'no line end')
            print('after', file=sys.stderr)
            """
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(
            result.stderr,
            f'before\n{_PROBLEMS["op_error"]}\nfrom python\nno line endafter\n',
        )

    def test_error_inside_the_block_is_shown(self):
        result = _python(
            """
            from warm_start_hooks import _startup
            with _startup.filtered_stderr():
                raise ValueError('real problem')
            """
        )
        self.assertEqual(result.returncode, 1)
        self.assertIn('ValueError: real problem', result.stderr)


class ImportTensorflowTest(absltest.TestCase):
    def test_tensorflow_loads_without_notices(self):
        result = _python(
            """
            import os
            from warm_start_hooks import _startup
            tf = _startup.import_tensorflow()
            print(tf.__version__, float(tf.reduce_sum(tf.ones([2]))))
            print(os.environ['TF_CPP_MIN_LOG_LEVEL'])
            """
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, f'{tf.__version__} 2.0\n1\n')
        self.assertEqual(result.stderr, '')

    def test_log_level_set_by_the_user_wins(self):
        result = _python(
            """
            import os
            from warm_start_hooks import _startup
            _startup.import_tensorflow()
            print(os.environ['TF_CPP_MIN_LOG_LEVEL'])
            """,
            TF_CPP_MIN_LOG_LEVEL='3',
        )
        self.assertEqual(result.stdout, '3\n', result.stderr)

    def test_already_imported(self):
        self.assertIs(_startup.import_tensorflow(), tf)


class LazyModuleTest(absltest.TestCase):
    def test_imported_on_first_use(self):
        result = _python(
            """
            import sys
            from warm_start_hooks import _startup
            wave = _startup.LazyModule('wave')
            print('wave' in sys.modules, repr(wave))
            print(wave.Error.__module__, 'wave' in sys.modules)
            """
        )
        self.assertEqual(
            result.stdout,
            "False <module 'wave', imported on first use>\nwave True\n",
            result.stderr,
        )

    def test_missing_attribute(self):
        with self.assertRaisesRegex(AttributeError, 'no_such_name'):
            _startup.LazyModule('os').no_such_name  # noqa: B018


class CommandLineStartupTest(absltest.TestCase):
    """`warm-start` answers --help and usage errors without TensorFlow, and prints only its own."""

    def test_help_and_usage_errors_do_not_import_tensorflow(self):
        result = _python(
            """
            import sys
            import warm_start_hooks
            from warm_start_hooks import _cli
            for argv in (['--help'], ['inspect', '--help'], ['inspect'], ['nosuchcommand']):
                try:
                    _cli.run(argv)
                except SystemExit as e:
                    print('exit', e.code, file=sys.stderr)
            print('tensorflow' in sys.modules, 'numpy' in sys.modules)
            print(_cli.__file__)
            """
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(lines[-2], 'False False')
        self.assertEqual(lines[-1], os.path.join(_REPO, 'warm_start_hooks', '_cli.py'))
        self.assertIn('usage: warm-start', result.stdout)
        self.assertEqual(
            [line for line in result.stderr.splitlines() if line.startswith('exit')],
            ['exit 0', 'exit 0', 'exit 2', 'exit 2'],
        )
        self.assertNotRegex(result.stderr, 'tensorflow|oneDNN|absl::')

    def test_python_m_help(self):
        result = subprocess.run(
            [sys.executable, '-m', 'warm_start_hooks', '--help'],
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
            | {'PYTHONPATH': _REPO},
            timeout=300,
            check=False,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertStartsWith(result.stdout, 'usage: warm-start')
        self.assertEqual(result.stderr, '')

    def test_inspect_prints_only_its_own_output(self):
        prefix = os.path.join(self.create_tempdir().full_path, 'model.ckpt')
        with tf.Graph().as_default():
            tf.compat.v1.get_variable('emb', initializer=np.ones((4, 3), np.float32))
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                prefix = tf.compat.v1.train.Saver().save(session, prefix)
        result = subprocess.run(
            [sys.executable, '-m', 'warm_start_hooks', 'inspect', prefix],
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
            | {'PYTHONPATH': _REPO},
            timeout=300,
            check=False,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, '')
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(_cli.main(['inspect', prefix]), 0)
        self.assertEqual(result.stdout, out.getvalue())
        self.assertStartsWith(result.stdout, f'Checkpoint {prefix}: name-based, 1 tensors')


if __name__ == '__main__':
    absltest.main()
