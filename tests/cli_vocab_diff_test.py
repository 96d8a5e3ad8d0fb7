"""Tests of `warm-start vocab-diff` (`warm_start_hooks._cli_vocab_diff`).

Counts are checked against TensorFlow's `GenerateVocabRemapping`.
"""

import json
import os

import cliutil
import numpy as np
from absl.testing import absltest
from absl.testing import parameterized


class VocabDiffTest(parameterized.TestCase):
    def test_counts_match_tf_remapping(self):
        d = self.create_tempdir().full_path
        old = cliutil.vocab_file(d, 'old.txt', cliutil.OLD_VOCAB)
        new = cliutil.vocab_file(d, 'new.txt', cliutil.NEW_VOCAB)
        result = cliutil.cli_subprocess('vocab-diff', old, new, '--oov', '1')
        self.assertEqual(result.returncode, 0, result.stderr)
        rows = {
            line.split()[0]: line.split()[1:]
            for line in result.stdout.splitlines()
            if line.split() and line.split()[0] in ('kept', 'moved', 'new', 'dropped', 'oov')
        }
        remapping, num_present = cliutil.tf_remapping(new, old, len(cliutil.NEW_VOCAB))
        kept = int(np.sum(remapping == np.arange(len(remapping))))
        self.assertEqual(int(rows['kept'][0]), kept)
        self.assertEqual(int(rows['moved'][0]), num_present - kept)
        self.assertEqual(int(rows['new'][0]), len(cliutil.NEW_VOCAB) - num_present)
        self.assertEqual(rows['dropped'], ['1', "'date'"])
        self.assertEqual(rows['oov'], ['1'])
        self.assertIn("'cherry' (2->1)", result.stdout)
        self.assertIn('No problems', result.stdout)

    @parameterized.named_parameters(
        ('all', -1, None), ('old_size', 3, None), ('new_size', -1, 3), ('both', 2, 4)
    )
    def test_json_counts_match_tf_remapping(self, old_size, new_size):
        d = self.create_tempdir().full_path
        old = cliutil.vocab_file(d, 'old.txt', cliutil.OLD_VOCAB)
        new = cliutil.vocab_file(d, 'new.txt', cliutil.NEW_VOCAB)
        args = ['vocab-diff', old, new, '--json', '--old-size', str(old_size)]
        if new_size is not None:
            args += ['--new-size', str(new_size)]
        code, out, _ = cliutil.cli_in_process(*args)
        self.assertEqual(code, 0)
        got = json.loads(out)
        n = len(cliutil.NEW_VOCAB) if new_size is None else new_size
        remapping, num_present = cliutil.tf_remapping(new, old, n, old_size)
        kept = int(np.sum(remapping == np.arange(n)))
        self.assertEqual(got['counts']['kept'], kept)
        self.assertEqual(got['counts']['moved'], num_present - kept)
        self.assertEqual(got['counts']['new'], n - num_present)
        old_used = len(cliutil.OLD_VOCAB) if old_size < 0 else old_size
        self.assertEqual(
            got['counts']['dropped'], old_used - len(set(remapping[remapping >= 0].tolist()))
        )
        for m in got['samples']['moved']:
            self.assertEqual(remapping[m['new']], m['old'])
        self.assertEqual(
            got['samples']['new'], [cliutil.NEW_VOCAB[i] for i in range(n) if remapping[i] < 0]
        )

    def test_problems_exit_1_and_list_all(self):
        d = self.create_tempdir().full_path
        old = cliutil.vocab_file(d, 'old.txt', cliutil.OLD_VOCAB)
        bad = cliutil.vocab_file(d, 'bad.txt', ['apple', 'banana ', 'cherry', 'apple'], end='\r\n')
        result = cliutil.cli_subprocess('vocab-diff', old, bad, '--json', '--variable', 'emb')
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
        old = cliutil.vocab_file(d, 'old.txt', cliutil.OLD_VOCAB)
        new = cliutil.vocab_file(d, 'new.txt', ['x', '', 'y'])
        code, out, _ = cliutil.cli_in_process('vocab-diff', old, new, '--json')
        self.assertEqual(code, 1)
        got = json.loads(out)
        self.assertLen(got['problems'], 2)
        self.assertIn('1 empty line(s): line 2', got['problems'][0])
        self.assertIn('none of the 3 tokens of the new vocabulary', got['problems'][1])
        self.assertIn('allow_no_overlap=True', got['problems'][1])

    def test_too_few_tokens_is_a_problem(self):
        d = self.create_tempdir().full_path
        old = cliutil.vocab_file(d, 'old.txt', cliutil.OLD_VOCAB)
        new = cliutil.vocab_file(d, 'new.txt', cliutil.NEW_VOCAB)
        code, out, _ = cliutil.cli_in_process('vocab-diff', old, new, '--new-size', '9')
        self.assertEqual(code, 1)
        self.assertIn('has 5 tokens, fewer than the 9', out)

    def test_samples_limit(self):
        d = self.create_tempdir().full_path
        old = cliutil.vocab_file(d, 'old.txt', [f't{i}' for i in range(20)])
        new = cliutil.vocab_file(d, 'new.txt', [f'n{i}' for i in range(20)])
        code, out, _ = cliutil.cli_in_process('vocab-diff', old, new, '--samples', '2')
        self.assertEqual(code, 1)  # No token in common: a warm start would refuse it.
        self.assertIn('none of the 20 tokens of the new vocabulary', out)
        code, out, _ = cliutil.cli_in_process(
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
        cliutil.vocab_file(d, 'old.txt', cliutil.OLD_VOCAB)
        cliutil.vocab_file(d, 'new.txt', cliutil.NEW_VOCAB)
        args = [os.path.join(d, a) if a.endswith('.txt') else a for a in args]
        code, out, err = cliutil.cli_in_process('vocab-diff', *args)
        self.assertEqual(code, 2)
        self.assertIn(message, err)
        self.assertEmpty(out)

    def test_directory_exits_2_without_traceback(self):
        d = self.create_tempdir().full_path
        old = cliutil.vocab_file(d, 'old.txt', cliutil.OLD_VOCAB)
        result = cliutil.cli_subprocess('vocab-diff', old, d)
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
        old = cliutil.vocab_file(d, 'old.txt', cliutil.OLD_VOCAB)
        latin = os.path.join(d, 'latin.txt')
        with open(latin, 'wb') as f:
            f.write('caf\u00e9\n'.encode('latin-1'))
        code, _, err = cliutil.cli_in_process('vocab-diff', old, latin)
        self.assertEqual(code, 1)
        self.assertIn('not UTF-8', err)


if __name__ == '__main__':
    absltest.main()
