"""Tests of `_vocab_check.py`: the vocabulary stage of planning, one `VocabInfo` at a time.

The remapping itself is tested against TensorFlow in vocab_test.py; here:
problems listed together, the no-overlap refusal and its opt-in, notes once
per pair, and a pair read and matched once per plan.
"""

import os
from unittest import mock

import numpy as np
from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _settings
from warm_start_hooks import _vocab
from warm_start_hooks import _vocab_check


def _write(directory, name, tokens):
    path = os.path.join(directory, name)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(''.join(t + '\n' for t in tokens))
    return path


class CheckPairTest(parameterized.TestCase):
    def _info(self, new, old, **kwargs):
        d = self.create_tempdir().full_path
        new_path, old_path = _write(d, 'new.txt', new), _write(d, 'old.txt', old)
        return _settings.VocabInfo(new_path, len(new), 1, old_path, **kwargs)

    def test_clean_pair(self):
        info = self._info(['b', 'x', 'a'], ['a', 'b', 'c'])
        checked = _vocab_check.check_pair(info, 'emb', {}, 3, 'emb')
        self.assertEqual(checked.problems, [])
        self.assertEqual(checked.notes, [])
        np.testing.assert_array_equal(checked.remapping.full_index(), [1, -1, 0, -1])
        self.assertIsNone(checked.old)  # No donor token to find: the plan need not keep it.

    def test_no_token_in_common_is_refused_unless_allowed(self):
        info = self._info(['kiwi', 'lime', 'fig', 'plum'], ['apple', 'pear'])
        checked = _vocab_check.check_pair(info, 'emb', {}, 2, 'emb')
        self.assertIsNone(checked.remapping)
        (problem,) = checked.problems
        self.assertRegex(
            problem,
            r"variable 'emb': none of the 4 tokens of the new vocabulary \(.*new.txt: 'kiwi', "
            r"'lime', 'fig' and 1 more\) is in the old one \(.*old.txt: 'apple', 'pear'\).*"
            r'allow_no_overlap=True',
        )
        allowed = _vocab_check.check_pair(
            self._info(['kiwi'], ['apple'], allow_no_overlap=True), 'emb', {}, 1
        )
        self.assertEqual(allowed.problems, [])
        np.testing.assert_array_equal(allowed.remapping.old_index, [-1])

    def test_a_pair_is_read_and_matched_once(self):
        info = self._info(['b', 'a'], ['a', 'b'])
        cache = {}
        with mock.patch.object(_vocab, 'read_vocab', wraps=_vocab.read_vocab) as reads:
            with mock.patch.object(_vocab, 'remapping', wraps=_vocab.remapping) as remaps:
                first = _vocab_check.check_pair(info, 'a', cache, 2)
                second = _vocab_check.check_pair(info, 'b', cache, 2)
        self.assertEqual(reads.call_count, 2)
        self.assertEqual(remaps.call_count, 1)
        np.testing.assert_array_equal(second.remapping.old_index, first.remapping.old_index)

    def test_notes_once_per_pair(self):
        info = self._info(['the', ' the', 'x'], ['the', 'y'])
        cache = {}
        first = _vocab_check.check_pair(info, 'a', cache, 2)
        second = _vocab_check.check_pair(info, 'b', cache, 2)
        self.assertLen(first.notes, 2)
        self.assertIn("'the' and ' the'", first.notes[0])  # Within the new vocabulary.
        self.assertIn("' the' vs 'the'", first.notes[1])  # Across the two.
        self.assertEqual(second.notes, [])

    def test_problems_listed_together(self):
        info = self._info(['a', 'a'], ['a', 'b', 'c'], new_row_init=('copy', 'zz'))
        checked = _vocab_check.check_pair(info, 'emb', {}, 2, 'emb')
        self.assertLen(checked.problems, 3)
        self.assertIn('duplicate tokens', checked.problems[0])
        self.assertIn("checkpoint tensor 'emb' has only 2 rows", checked.problems[1])
        self.assertIn("donor token 'zz'", checked.problems[2])

    def test_unreadable_vocabulary(self):
        info = _settings.VocabInfo('/no/such/new.txt', 1, 0, ['a'])
        (problem,) = _vocab_check.check_pair(info, 'emb', {}).problems
        self.assertRegex(problem, "variable 'emb': Vocabulary file not found")


if __name__ == '__main__':
    absltest.main()
