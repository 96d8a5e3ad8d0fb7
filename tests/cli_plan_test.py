"""Tests of `warm-start plan` (`warm_start_hooks._cli_plan`)."""

import json
import os

import cliutil
import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _cli_plan


class PlanTest(parameterized.TestCase):
    def _setup(self, settings=None):
        d = self.create_tempdir().full_path
        old_dir = os.path.join(d, 'old')
        cliutil.name_based(old_dir, cliutil.old_values(), global_step=100)
        new_dir = os.path.join(d, 'new')
        cliutil.name_based(
            new_dir,
            {
                'emb': np.zeros((6, 3), np.float32),
                'dense/kernel': np.zeros((3, 2), np.float32),
                'dense/bias': np.zeros(2, np.float32),
            },
        )
        old_vocab = cliutil.vocab_file(d, 'old.txt', cliutil.OLD_VOCAB)
        new_vocab = cliutil.vocab_file(d, 'new.txt', cliutil.NEW_VOCAB)
        if settings is None:
            settings = {
                'ckpt_to_initialize_from': old_dir,
                'vars_to_warm_start': '.*',
                'var_name_to_vocab_info': {
                    'emb': {
                        'new_vocab': new_vocab,
                        'new_vocab_size': 5,
                        'num_oov_buckets': 1,
                        'old_vocab': old_vocab,
                        'new_row_init': 'mean',
                    }
                },
            }
        if callable(settings):
            settings = settings(old_dir)
        text = settings if isinstance(settings, str) else json.dumps(settings)
        path = cliutil.write(os.path.join(d, 'settings.json'), text)
        return path, old_dir, new_dir

    def test_table(self):
        settings, old_dir, new_dir = self._setup()
        result = cliutil.cli_subprocess('plan', '--settings', settings, '--model', new_dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertIn('name-based, 3 variables', lines[0])
        self.assertIn('Plan (dry run): 3 variable(s)', lines[1])
        rows = {line.split()[0]: line.split()[1:5] for line in lines[4:7]}
        self.assertEqual(
            rows,
            {
                'dense/bias': ['copy', 'dense/bias', '2', 'float32'],
                'dense/kernel': ['copy', 'dense/kernel', '3x2', 'float32'],
                'emb': ['remap', 'emb', '6x3', 'float32'],
            },
        )
        self.assertIn('rows: 1 kept, 2 moved, 2 new, 1 oov, 1 dropped; init=mean', lines[6])
        self.assertIn('Unused checkpoint tensors: global_step', result.stdout)

    def test_json_against_object_based_model(self):
        settings, _, _ = self._setup()
        model = cliutil.object_based(self.create_tempdir().full_path, rows=6)
        code, out, err = cliutil.cli_in_process(
            'plan', '--settings', settings, '--model', model, '--json'
        )
        self.assertEqual(code, 0, err)
        d = json.loads(out)
        self.assertFalse(d['applied'])
        self.assertTrue(d['model']['object_based'])
        self.assertEqual(d['model']['variables'], 2)
        actions = {e['name']: (e['action'], e['source_key']) for e in d['entries']}
        self.assertEqual(
            actions, {'dense/kernel': ('copy', 'dense/kernel'), 'emb': ('remap', 'emb')}
        )
        self.assertEqual(d['counts'], {'copy': 1, 'remap': 1})
        self.assertEqual(d['unused_keys'], ['dense/bias', 'global_step'])

    def test_saved_model_as_model(self):
        settings, _, _ = self._setup()
        module = cliutil.Net(rows=6)
        module.f = tf.function(lambda: module.emb + 0.0, input_signature=[])
        saved = os.path.join(self.create_tempdir().full_path, 'saved')
        tf.saved_model.save(module, saved)
        code, out, err = cliutil.cli_in_process('plan', '--settings', settings, '--model', saved)
        self.assertEqual(code, 0, err)
        self.assertIn('(object-based, 2 variables)', out)
        self.assertRegex(out, r'\nemb +remap +emb +6x3 ')

    def test_trainable_regex_limits_default_selection(self):
        settings, _, new_dir = self._setup()
        code, out, err = cliutil.cli_in_process(
            'plan', '--settings', settings, '--model', new_dir, '--trainable', 'emb', '--json'
        )
        self.assertEqual(code, 0, err)
        self.assertEqual([e['name'] for e in json.loads(out)['entries']], ['emb'])

    def test_validation_failure_exits_1_listing_all_problems(self):
        settings, _, new_dir = self._setup(
            lambda old_dir: {
                'ckpt_to_initialize_from': old_dir,
                'vars_to_warm_start': ['emb', 'dense/.*', 'nothere'],
                'var_name_to_prev_var_name': {'dense/kernell': 'x'},
            }
        )
        result = cliutil.cli_subprocess('plan', '--settings', settings, '--model', new_dir)
        self.assertEqual(result.returncode, 1)
        self.assertIn('warm-start plan: error: ', result.stderr)
        self.assertIn('3 problems found', result.stderr)
        self.assertIn("pattern 'nothere' matches no global variable", result.stderr)
        self.assertIn('Did you mean: dense/kernel ?', result.stderr)
        self.assertIn("variable 'emb' has shape [6, 3]", result.stderr)
        self.assertEmpty(result.stdout)

    def test_bad_json_exits_2(self):
        settings, _, new_dir = self._setup('{"ckpt_to_initialize_from": ')
        result = cliutil.cli_subprocess('plan', '--settings', settings, '--model', new_dir)
        self.assertEqual(result.returncode, 2)
        self.assertIn('settings file is not valid JSON', result.stderr)

    @parameterized.named_parameters(
        ('not_object', '[1, 2]', 2, 'settings must be a JSON object'),
        ('missing_model', None, 2, 'No checkpoint found'),
        ('unknown_field', '{"ckpt_to_initialize_from": "x", "vars": ".*"}', 1, 'unknown settings'),
        (
            'backup_initializer',
            '{"ckpt_to_initialize_from": "x", "var_name_to_vocab_info": {"emb": '
            '{"new_vocab": "a", "new_vocab_size": 1, "num_oov_buckets": 0, "old_vocab": "b", '
            '"backup_initializer": "zeros"}}}',
            1,
            'backup_initializer cannot be given in JSON',
        ),
        (
            'vocab_info_field',
            '{"ckpt_to_initialize_from": "x", "var_name_to_vocab_info": {"emb": {"size": 1}}}',
            1,
            "unknown VocabInfo field(s) ['size']",
        ),
        ('missing_source', '{"ckpt_to_initialize_from": "/nonexistent/ckpt"}', 1, 'No checkpoint'),
    )
    def test_bad_input(self, text, exit_code, message):
        settings, _, new_dir = self._setup(text or '{"ckpt_to_initialize_from": "x"}')
        model = os.path.join(new_dir, 'nope') if text is None else new_dir
        code, out, err = cliutil.cli_in_process('plan', '--settings', settings, '--model', model)
        self.assertEqual(code, exit_code, err)
        self.assertIn(message, err)
        self.assertEmpty(out)

    def test_wrong_types_exit_1_listing_each_without_traceback(self):
        settings, _, new_dir = self._setup(
            lambda old_dir: {
                'ckpt_to_initialize_from': old_dir,
                'var_name_to_prev_var_name': [['dense/kernel', 'x']],
                'var_name_to_vocab_info': ['emb'],
                'shape_policy': {'head/(': 'skip'},
                'ignore_checkpoint_keys': ['step_['],
                'rules': 'abc',
                'strict': 'yes',
            }
        )
        result = cliutil.cli_subprocess('plan', '--settings', settings, '--model', new_dir)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertIn('6 problems found', result.stderr)
        for message in (
            'var_name_to_prev_var_name must be a dict of variable name (or variable.ref()) to '
            "checkpoint name, or None. Received: var_name_to_prev_var_name=[['dense/kernel', 'x']]",
            'var_name_to_vocab_info must be a dict of variable name (or variable.ref()) to '
            "VocabInfo, or None. Received: var_name_to_vocab_info=['emb']",
            'shape_policy has an invalid regex (missing ), unterminated subpattern at position '
            "5). Received: 'head/('. Fix the pattern",
            'ignore_checkpoint_keys has an invalid regex (unterminated character set at position '
            "5). Received: 'step_['. Fix the pattern",
            "a single string is not split into characters. Received: rules='abc'",
            "strict must be True or False. Received: strict='yes'",
        ):
            self.assertIn(message, result.stderr)

    def test_settings_directory_exits_2(self):
        d = self.create_tempdir().full_path
        code, _, err = cliutil.cli_in_process('plan', '--settings', d, '--model', d)
        self.assertEqual(code, 2)
        self.assertIn('settings file not found or unreadable', err)

    def test_missing_settings_file_exits_2(self):
        _, _, new_dir = self._setup()
        code, _, err = cliutil.cli_in_process(
            'plan', '--settings', '/nonexistent.json', '--model', new_dir
        )
        self.assertEqual(code, 2)
        self.assertIn('settings file not found', err)

    def test_donor_token_from_json_list(self):
        d = self.create_tempdir().full_path
        path = cliutil.write(
            os.path.join(d, 's.json'),
            json.dumps(
                {
                    'ckpt_to_initialize_from': 'x',
                    'var_name_to_vocab_info': {
                        'emb': {
                            'new_vocab': 'a',
                            'new_vocab_size': 1,
                            'num_oov_buckets': 0,
                            'old_vocab': 'b',
                            'new_row_init': ['copy', 'apple'],
                        }
                    },
                }
            ),
        )
        settings = _cli_plan.load_settings(path)
        self.assertEqual(settings.var_name_to_vocab_info['emb'].new_row_init, ('copy', 'apple'))
        self.assertEmpty(settings.problems())


if __name__ == '__main__':
    absltest.main()
