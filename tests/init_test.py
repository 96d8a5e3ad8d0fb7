"""Tests of the package's public API (`__init__.py`)."""

import ast
import importlib
import inspect
import os
import subprocess
import sys

import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks as wsh


class PublicApiTest(parameterized.TestCase):
    @parameterized.named_parameters(*[(n, n) for n in wsh.__all__])
    def test_public_name_exists(self, name):
        self.assertIsNotNone(getattr(wsh, name))

    def test_all_is_sorted_and_unique(self):
        self.assertLen(set(wsh.__all__), len(wsh.__all__))

    def test_warm_start_signature_matches_tensorflow(self):
        ours = inspect.signature(wsh.warm_start).parameters
        theirs = inspect.signature(tf.compat.v1.train.warm_start).parameters
        positional = [p for p in ours.values() if p.kind == p.POSITIONAL_OR_KEYWORD]
        self.assertEqual(
            [(p.name, p.default) for p in positional],
            [(p.name, p.default) for p in theirs.values()],
        )

    def test_init_from_checkpoint_signature_matches_tensorflow(self):
        ours = inspect.signature(wsh.init_from_checkpoint).parameters
        theirs = inspect.signature(tf.compat.v1.train.init_from_checkpoint).parameters
        positional = [p.name for p in ours.values() if p.kind == p.POSITIONAL_OR_KEYWORD]
        self.assertEqual(positional, list(theirs))

    def test_unknown_attribute(self):
        with self.assertRaisesRegex(AttributeError, 'no attribute'):
            wsh.NoSuchThing  # noqa: B018


class LazyNamesTest(absltest.TestCase):
    """Public names are imported on first use (PEP 562), from the modules that define them."""

    def test_import_does_not_import_tensorflow(self):
        code = (
            'import sys\n'
            'import warm_start_hooks as wsh\n'
            'print("tensorflow" in sys.modules, wsh.__version__)\n'
            'from warm_start_hooks import WarmStartSettings, warm_start\n'
            'print("tensorflow" in sys.modules, warm_start.__module__)\n'
        )
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        result = subprocess.run(
            [sys.executable, '-c', code],
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=repo),
            timeout=300,
            check=False,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(
            result.stdout.splitlines(),
            [f'False {wsh.__version__}', 'True warm_start_hooks._api'],
        )

    def test_submodules_on_first_use(self):
        code = (
            'import warm_start_hooks as wsh\n'
            'print(wsh.estimator.__name__, wsh._variables.variable_name.__module__)\n'
        )
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        result = subprocess.run(
            [sys.executable, '-c', code],
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=repo),
            timeout=300,
            check=False,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, 'warm_start_hooks.estimator warm_start_hooks._variables\n')

    def test_dir_lists_the_public_names(self):
        self.assertContainsSubset(wsh.__all__, dir(wsh))

    def test_names_come_from_their_modules(self):
        for name, module in wsh._PUBLIC.items():
            with self.subTest(name=name):
                defining = importlib.import_module(f'warm_start_hooks.{module}')
                self.assertIs(getattr(wsh, name), getattr(defining, name))

    def test_type_checking_imports_match_the_table(self):
        with open(wsh.__file__) as f:
            tree = ast.parse(f.read())
        block = next(
            node
            for node in tree.body
            if isinstance(node, ast.If) and getattr(node.test, 'id', '') == 'TYPE_CHECKING'
        )
        imported = {
            alias.name: node.module.removeprefix('warm_start_hooks.')
            for node in block.body
            for alias in node.names
        }
        self.assertEqual(imported, wsh._PUBLIC)
        self.assertCountEqual(wsh.__all__, wsh._PUBLIC)


if __name__ == '__main__':
    absltest.main()
