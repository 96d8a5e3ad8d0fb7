"""Tests of the `warm-start` command line (`warm_start_hooks._cli`).

A few runs go through `python -m warm_start_hooks` in a subprocess (each one
imports TensorFlow, which takes seconds); the rest call `_cli.main` in-process.
Checkpoint contents are checked against TensorFlow's own reader, vocabulary
counts against TensorFlow's `GenerateVocabRemapping`.
"""

import contextlib
import io
import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _cli

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_OLD_VOCAB = ['apple', 'banana', 'cherry', 'date']
_NEW_VOCAB = ['apple', 'cherry', 'banana', 'elder', 'fig']


def _write(path, text):
    with open(path, 'w', newline='') as f:
        f.write(text)
    return path


def _vocab_file(directory, name, tokens, end='\n'):
    return _write(os.path.join(directory, name), ''.join(t + end for t in tokens))


def _name_based(directory, values, global_step=None):
    """Saves `values` (name -> array) with a v1 Saver in a fresh graph; returns the prefix."""
    with tf.Graph().as_default():
        for name, value in values.items():
            tf.compat.v1.get_variable(name, initializer=np.asarray(value))
        if global_step is not None:
            tf.compat.v1.train.get_or_create_global_step()
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return tf.compat.v1.train.Saver().save(
                sess, os.path.join(directory, 'model.ckpt'), global_step=global_step
            )


class _Net(tf.Module):
    def __init__(self, rows=4):
        super().__init__()
        self.emb = tf.Variable(
            tf.reshape(tf.range(rows * 3, dtype=tf.float32), [rows, 3]), name='emb'
        )
        self.dense = tf.Module()
        self.dense.kernel = tf.Variable(tf.ones([3, 2]), name='dense/kernel')


def _object_based(directory, rows=4):
    return tf.train.Checkpoint(model=_Net(rows)).save(os.path.join(directory, 'ckpt'))


def _old_values():
    return {
        'emb': np.arange(12, dtype=np.float32).reshape(4, 3),
        'dense/kernel': np.ones((3, 2), np.float32),
        'dense/bias': np.zeros(2, np.float32),
    }


def _cli_subprocess(*args):
    env = dict(os.environ, PYTHONPATH=_REPO, TF_CPP_MIN_LOG_LEVEL='2')
    return subprocess.run(
        [sys.executable, '-m', 'warm_start_hooks', *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _cli_in_process(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = _cli.main(list(args))
        except SystemExit as e:  # argparse
            code = e.code
    return code, out.getvalue(), err.getvalue()


def _tf_remapping(new_path, old_path, new_size, old_size=-1):
    remapping, num_present = tf.raw_ops.GenerateVocabRemapping(
        new_vocab_file=new_path,
        old_vocab_file=old_path,
        new_vocab_offset=0,
        num_new_vocab=new_size,
        old_vocab_size=old_size,
    )
    return np.asarray(remapping), int(num_present)


class InspectTest(parameterized.TestCase):
    def test_name_based_table_matches_tf_reader(self):
        prefix = _name_based(self.create_tempdir().full_path, _old_values(), global_step=100)
        result = _cli_subprocess('inspect', os.path.dirname(prefix))
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
        prefix = _object_based(self.create_tempdir().full_path)
        result = _cli_subprocess('inspect', prefix, '--json')
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
        prefix = _object_based(self.create_tempdir().full_path)
        code, out, _ = _cli_in_process('inspect', prefix)
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
        code, out, _ = _cli_in_process('inspect', prefix, '--json')
        self.assertEqual(code, 0)
        d = json.loads(out)
        self.assertCountEqual(d['repeated_names']['Variable'], keys)
        self.assertNotIn('Variable', d['names'])
        self.assertEqual(d['names']['model/b1'], keys[1])
        code, out, _ = _cli_in_process('inspect', prefix)
        for name in ('w1', 'b1', 'w2'):
            self.assertRegex(out, rf'\nVariable +model/{name} +model/{name}/\.ATTRIBUTES')

    def test_missing_checkpoint_exits_2(self):
        missing = os.path.join(self.create_tempdir().full_path, 'nope')
        result = _cli_subprocess('inspect', missing)
        self.assertEqual(result.returncode, 2)
        self.assertIn('warm-start inspect: error: No checkpoint found', result.stderr)
        self.assertEmpty(result.stdout)

    def test_corrupt_checkpoint_exits_1(self):
        directory = self.create_tempdir().full_path
        prefix = _name_based(directory, _old_values())
        _write(prefix + '.index', 'not an index')
        code, _, err = _cli_in_process('inspect', prefix)
        self.assertEqual(code, 1)
        self.assertIn('cannot be read', err)


class VocabDiffTest(parameterized.TestCase):
    def test_counts_match_tf_remapping(self):
        d = self.create_tempdir().full_path
        old = _vocab_file(d, 'old.txt', _OLD_VOCAB)
        new = _vocab_file(d, 'new.txt', _NEW_VOCAB)
        result = _cli_subprocess('vocab-diff', old, new, '--oov', '1')
        self.assertEqual(result.returncode, 0, result.stderr)
        rows = {
            line.split()[0]: line.split()[1:]
            for line in result.stdout.splitlines()
            if line.split() and line.split()[0] in ('kept', 'moved', 'new', 'dropped', 'oov')
        }
        remapping, num_present = _tf_remapping(new, old, len(_NEW_VOCAB))
        kept = int(np.sum(remapping == np.arange(len(remapping))))
        self.assertEqual(int(rows['kept'][0]), kept)
        self.assertEqual(int(rows['moved'][0]), num_present - kept)
        self.assertEqual(int(rows['new'][0]), len(_NEW_VOCAB) - num_present)
        self.assertEqual(rows['dropped'], ['1', "'date'"])
        self.assertEqual(rows['oov'], ['1'])
        self.assertIn("'cherry' (2->1)", result.stdout)
        self.assertIn('No problems', result.stdout)

    @parameterized.named_parameters(
        ('all', -1, None), ('old_size', 3, None), ('new_size', -1, 3), ('both', 2, 4)
    )
    def test_json_counts_match_tf_remapping(self, old_size, new_size):
        d = self.create_tempdir().full_path
        old = _vocab_file(d, 'old.txt', _OLD_VOCAB)
        new = _vocab_file(d, 'new.txt', _NEW_VOCAB)
        args = ['vocab-diff', old, new, '--json', '--old-size', str(old_size)]
        if new_size is not None:
            args += ['--new-size', str(new_size)]
        code, out, _ = _cli_in_process(*args)
        self.assertEqual(code, 0)
        got = json.loads(out)
        n = len(_NEW_VOCAB) if new_size is None else new_size
        remapping, num_present = _tf_remapping(new, old, n, old_size)
        kept = int(np.sum(remapping == np.arange(n)))
        self.assertEqual(got['counts']['kept'], kept)
        self.assertEqual(got['counts']['moved'], num_present - kept)
        self.assertEqual(got['counts']['new'], n - num_present)
        old_used = len(_OLD_VOCAB) if old_size < 0 else old_size
        self.assertEqual(
            got['counts']['dropped'], old_used - len(set(remapping[remapping >= 0].tolist()))
        )
        for m in got['samples']['moved']:
            self.assertEqual(remapping[m['new']], m['old'])
        self.assertEqual(
            got['samples']['new'], [_NEW_VOCAB[i] for i in range(n) if remapping[i] < 0]
        )

    def test_problems_exit_1_and_list_all(self):
        d = self.create_tempdir().full_path
        old = _vocab_file(d, 'old.txt', _OLD_VOCAB)
        bad = _vocab_file(d, 'bad.txt', ['apple', 'banana ', 'cherry', 'apple'], end='\r\n')
        result = _cli_subprocess('vocab-diff', old, bad, '--json', '--variable', 'emb')
        self.assertEqual(result.returncode, 1, result.stderr)
        got = json.loads(result.stdout)
        self.assertFalse(got['ok'])
        self.assertTrue(got['crlf']['new'])
        self.assertFalse(got['crlf']['old'])
        self.assertLen(got['problems'], 1)
        self.assertIn("duplicate tokens: 'apple' (lines 1 and 4)", got['problems'][0])
        self.assertIn('CRLF', got['notes'][0])
        # 'banana ' is a token of its own (as TensorFlow reads it): a note, not a problem.
        self.assertIn("'banana ' vs 'banana'", got['notes'][1])

    def test_empty_line_and_no_shared_token_are_problems(self):
        d = self.create_tempdir().full_path
        old = _vocab_file(d, 'old.txt', _OLD_VOCAB)
        new = _vocab_file(d, 'new.txt', ['x', '', 'y'])
        code, out, _ = _cli_in_process('vocab-diff', old, new, '--json')
        self.assertEqual(code, 1)
        got = json.loads(out)
        self.assertLen(got['problems'], 2)
        self.assertIn('1 empty line(s): line 2', got['problems'][0])
        self.assertIn('none of the 3 tokens of the new vocabulary', got['problems'][1])
        self.assertIn('allow_no_overlap=True', got['problems'][1])

    def test_too_few_tokens_is_a_problem(self):
        d = self.create_tempdir().full_path
        old = _vocab_file(d, 'old.txt', _OLD_VOCAB)
        new = _vocab_file(d, 'new.txt', _NEW_VOCAB)
        code, out, _ = _cli_in_process('vocab-diff', old, new, '--new-size', '9')
        self.assertEqual(code, 1)
        self.assertIn('has 5 tokens, fewer than the 9', out)

    def test_samples_limit(self):
        d = self.create_tempdir().full_path
        old = _vocab_file(d, 'old.txt', [f't{i}' for i in range(20)])
        new = _vocab_file(d, 'new.txt', [f'n{i}' for i in range(20)])
        code, out, _ = _cli_in_process('vocab-diff', old, new, '--samples', '2')
        self.assertEqual(code, 1)  # No token in common: a warm start would refuse it.
        self.assertIn('none of the 20 tokens of the new vocabulary', out)
        code, out, _ = _cli_in_process(
            'vocab-diff', old, new, '--samples', '2', '--allow-no-overlap'
        )
        self.assertEqual(code, 0)
        self.assertIn("'n0', 'n1', ... (+18)", out)
        self.assertIn("'t0', 't1', ... (+18)", out)

    @parameterized.named_parameters(
        ('missing_file', ['missing.txt', 'new.txt'], 'old vocabulary file not found'),
        ('bad_size', ['old.txt', 'new.txt', '--oov', '-1'], 'num_oov_buckets must be >= 0'),
    )
    def test_usage_errors_exit_2(self, args, message):
        d = self.create_tempdir().full_path
        _vocab_file(d, 'old.txt', _OLD_VOCAB)
        _vocab_file(d, 'new.txt', _NEW_VOCAB)
        args = [os.path.join(d, a) if a.endswith('.txt') else a for a in args]
        code, out, err = _cli_in_process('vocab-diff', *args)
        self.assertEqual(code, 2)
        self.assertIn(message, err)
        self.assertEmpty(out)

    def test_directory_exits_2_without_traceback(self):
        d = self.create_tempdir().full_path
        old = _vocab_file(d, 'old.txt', _OLD_VOCAB)
        result = _cli_subprocess('vocab-diff', old, d)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(
            'warm-start vocab-diff: error: new vocabulary is a directory, not a file. Expected a '
            f'file with one token a line; name the file in it. Received: new={d!r}',
            result.stderr,
        )
        self.assertNotIn('Traceback', result.stderr)
        self.assertEmpty(result.stdout)

    def test_not_utf8_exits_1(self):
        d = self.create_tempdir().full_path
        old = _vocab_file(d, 'old.txt', _OLD_VOCAB)
        latin = os.path.join(d, 'latin.txt')
        with open(latin, 'wb') as f:
            f.write('caf\u00e9\n'.encode('latin-1'))
        code, _, err = _cli_in_process('vocab-diff', old, latin)
        self.assertEqual(code, 1)
        self.assertIn('not UTF-8', err)


class PlanTest(parameterized.TestCase):
    def _setup(self, settings=None):
        d = self.create_tempdir().full_path
        old_dir = os.path.join(d, 'old')
        _name_based(old_dir, _old_values(), global_step=100)
        new_dir = os.path.join(d, 'new')
        _name_based(
            new_dir,
            {
                'emb': np.zeros((6, 3), np.float32),
                'dense/kernel': np.zeros((3, 2), np.float32),
                'dense/bias': np.zeros(2, np.float32),
            },
        )
        old_vocab = _vocab_file(d, 'old.txt', _OLD_VOCAB)
        new_vocab = _vocab_file(d, 'new.txt', _NEW_VOCAB)
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
        path = _write(os.path.join(d, 'settings.json'), text)
        return path, old_dir, new_dir

    def test_table(self):
        settings, old_dir, new_dir = self._setup()
        result = _cli_subprocess('plan', '--settings', settings, '--model', new_dir)
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
        model = _object_based(self.create_tempdir().full_path, rows=6)
        code, out, err = _cli_in_process('plan', '--settings', settings, '--model', model, '--json')
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
        module = _Net(rows=6)
        module.f = tf.function(lambda: module.emb + 0.0, input_signature=[])
        saved = os.path.join(self.create_tempdir().full_path, 'saved')
        tf.saved_model.save(module, saved)
        code, out, err = _cli_in_process('plan', '--settings', settings, '--model', saved)
        self.assertEqual(code, 0, err)
        self.assertIn('(object-based, 2 variables)', out)
        self.assertRegex(out, r'\nemb +remap +emb +6x3 ')

    def test_trainable_regex_limits_default_selection(self):
        settings, _, new_dir = self._setup()
        code, out, err = _cli_in_process(
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
        result = _cli_subprocess('plan', '--settings', settings, '--model', new_dir)
        self.assertEqual(result.returncode, 1)
        self.assertIn('warm-start plan: error: ', result.stderr)
        self.assertIn('3 problems found', result.stderr)
        self.assertIn("pattern 'nothere' matches no global variable", result.stderr)
        self.assertIn('Did you mean: dense/kernel ?', result.stderr)
        self.assertIn("variable 'emb' has shape [6, 3]", result.stderr)
        self.assertEmpty(result.stdout)

    def test_bad_json_exits_2(self):
        settings, _, new_dir = self._setup('{"ckpt_to_initialize_from": ')
        result = _cli_subprocess('plan', '--settings', settings, '--model', new_dir)
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
        code, out, err = _cli_in_process('plan', '--settings', settings, '--model', model)
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
        result = _cli_subprocess('plan', '--settings', settings, '--model', new_dir)
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
        code, _, err = _cli_in_process('plan', '--settings', d, '--model', d)
        self.assertEqual(code, 2)
        self.assertIn('settings file not found or unreadable', err)

    def test_missing_settings_file_exits_2(self):
        _, _, new_dir = self._setup()
        code, _, err = _cli_in_process(
            'plan', '--settings', '/nonexistent.json', '--model', new_dir
        )
        self.assertEqual(code, 2)
        self.assertIn('settings file not found', err)

    def test_donor_token_from_json_list(self):
        d = self.create_tempdir().full_path
        path = _write(
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
        settings = _cli.load_settings(path)
        self.assertEqual(settings.var_name_to_vocab_info['emb'].new_row_init, ('copy', 'apple'))
        self.assertEmpty(settings.problems())


class RunTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ('ok', ['inspect', 'CKPT'], 0),
        ('usage', ['inspect', 'MISSING'], 2),
        ('argparse', ['plan', '--model', 'CKPT'], 2),
    )
    def test_run_exits_with_status(self, argv, expected):
        d = self.create_tempdir().full_path
        prefix = _name_based(d, {'v': np.zeros(2, np.float32)})
        argv = [{'CKPT': prefix, 'MISSING': prefix + 'x'}.get(a, a) for a in argv]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            with self.assertRaises(SystemExit) as cm:
                _cli.run(argv)
        self.assertEqual(cm.exception.code, expected)


if __name__ == '__main__':
    absltest.main()
