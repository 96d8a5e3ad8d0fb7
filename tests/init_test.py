"""Tests of the package's public API (`__init__.py`)."""

import inspect

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


if __name__ == '__main__':
    absltest.main()
