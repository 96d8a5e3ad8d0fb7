"""Tests for warm_start_hooks._target: the part of a Keras model a warm start aims at.

The fitted callback with `target=` is tested in keras_test.py against the old
model's own predictions; here, how a target is found or refused.
"""

import kerasutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks
from warm_start_hooks import _target


class _TargetTestBase(parameterized.TestCase):
    FLAVOUR = None

    def setUp(self):
        super().setUp()
        K = kerasutil.flavour_module(self.FLAVOUR)
        self.backbone = K.Sequential(
            [K.Input((3,)), K.layers.Dense(4, name='inner'), K.layers.Dense(2)], name='backbone'
        )
        inputs = K.Input((3,))
        self.model = K.Model(inputs, K.layers.Dense(1, name='head')(self.backbone(inputs)))
        self.stray = K.Sequential([K.Input((3,)), K.layers.Dense(2)], name='stray')

    def test_none_is_the_whole_model(self):
        self.assertIs(_target.resolve(self.model, None, 'cb'), self.model)

    @parameterized.named_parameters(
        ('sub_model_by_name', 'backbone'), ('nested_layer_by_name', 'inner')
    )
    def test_layer_name_finds_nested_layers(self, name):
        part = _target.resolve(self.model, name, 'cb')
        self.assertEqual(part.name, name)

    def test_callable(self):
        part = _target.resolve(self.model, lambda m: m.get_layer('backbone'), 'cb')
        self.assertIs(part, self.backbone)

    def test_unknown_name_suggests_one(self):
        with self.assertRaisesRegex(
            warm_start_hooks.WarmStartError, r"'backbon' names no layer.*Did you mean: backbone"
        ):
            _target.resolve(self.model, 'backbon', 'cb')

    @parameterized.named_parameters(
        ('foreign_model', 'stray'), ('not_a_layer', 'number'), ('raises', 'raises')
    )
    def test_callable_returning_no_part_of_the_model(self, kind):
        targets = {
            'stray': lambda m: self.stray,
            'number': lambda m: 3,
            'raises': lambda m: m.backbone_that_does_not_exist,
        }
        with self.assertRaisesRegex(warm_start_hooks.WarmStartError, 'Received: target='):
            _target.resolve(self.model, targets[kind], 'cb')


@absltest.skipUnless(kerasutil.KERAS_3, 'needs Keras 3 (the keras package on TF >= 2.16)')
class Keras3TargetTest(_TargetTestBase):
    FLAVOUR = 'keras3'


@absltest.skipUnless(kerasutil.HAS_KERAS_2, kerasutil.KERAS_2_SKIP)
class Keras2TargetTest(_TargetTestBase):
    FLAVOUR = 'keras2'


del _TargetTestBase


if __name__ == '__main__':
    absltest.main()
