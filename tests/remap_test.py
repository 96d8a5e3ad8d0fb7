"""Tests of remapped values (`_remap.py`) against a numpy oracle, TensorFlow, and tf_ops.

Property-based: hypothesis draws old and new vocabularies, sizes, OOV
buckets, axes, partitionings, fills and memory bounds. The oracle below is
written from the semantics of `tf.compat.v1.train.warm_start` alone, with no
code shared with the library.
"""

import dataclasses
import json
import os
import subprocess
import sys
import uuid

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from absl.testing import parameterized
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import warm_start_hooks as wsh

tf1 = tf.compat.v1

TOKENS = ('apple', 'banana', 'guava', 'orange', 'kiwi', 'mango', 'fig', 'lime')
FRESH = -5.0  # The variable's own initial value: never left after a remap.
FILL = -7.0  # TensorFlow-compatible backup initializer: a constant.


@dataclasses.dataclass(frozen=True)
class Case:
    """One drawn remap."""

    old: tuple[str, ...]
    old_size: int
    new: tuple[str, ...]  # The whole new vocabulary file.
    new_size: int
    oov: int
    axis: int
    other: int  # The size of the axis that is not remapped.
    extra_old: int  # Old rows (or columns) beyond the old vocabulary (old OOV buckets).
    partitions: int
    fill: str  # 'zeros', 'constant', 'backup', 'mean' or 'copy'.
    donor: str | None
    max_bytes: int | None

    @property
    def old_used(self):
        return self.old if self.old_size < 0 else self.old[: self.old_size]

    @property
    def var_shape(self):
        n = self.new_size + self.oov
        return (n, self.other) if self.axis == 0 else (self.other, n)

    @property
    def old_shape(self):
        n = len(self.old) + self.extra_old
        return (n, self.other) if self.axis == 0 else (self.other, n)

    def old_matrix(self):
        return (np.arange(np.prod(self.old_shape)).reshape(self.old_shape) * 0.5 + 1).astype(
            np.float32
        )


@st.composite
def cases(draw, tf_compatible=False):
    old = tuple(draw(st.permutations(TOKENS)))[: draw(st.integers(1, 6))]
    new = tuple(draw(st.permutations(TOKENS)))[: draw(st.integers(1, 6))]
    new_size = draw(st.integers(1, len(new)))
    axis = draw(st.sampled_from([0, 1]))
    if tf_compatible and axis == 1:
        old_size = -1  # TensorFlow ignores old_vocab_size for axis 1.
    else:
        old_size = draw(st.sampled_from([-1, *range(1, len(old) + 1)]))
    oov = draw(st.integers(0, 2))
    other = draw(st.integers(1, 3))
    rows = new_size + oov if axis == 0 else other
    fills = ['zeros', 'constant'] if tf_compatible else ['zeros', 'backup', 'mean', 'copy']
    fill = draw(st.sampled_from(fills))
    used = old if old_size < 0 else old[:old_size]
    return Case(
        old=old,
        old_size=old_size,
        new=new,
        new_size=new_size,
        oov=oov,
        axis=axis,
        other=other,
        extra_old=draw(st.integers(0, 2)),
        partitions=draw(st.integers(1, min(3, rows))),
        fill=fill,
        donor=draw(st.sampled_from(used)) if fill == 'copy' else None,
        # 48 bytes: a few rows per piece, read and scattered on two threads.
        max_bytes=draw(st.sampled_from([None, 1, 8, 20, 48])),
    )


def oracle(case):
    """The remapped matrix, from the definition: copy each found token's row or column."""
    old = case.old_matrix().astype(np.float64)
    used = list(case.old_used)
    shape = case.var_shape
    if case.axis == 1:
        old = old.T  # Work on rows; transpose back at the end.
        shape = shape[::-1]
    if case.fill in ('zeros',):
        out = np.zeros(shape)
    elif case.fill == 'constant':
        out = np.full(shape, FILL)
    elif case.fill == 'backup':
        full = case.var_shape
        out = -np.arange(1, np.prod(full) + 1, dtype=np.float64).reshape(full)
        out = out.T if case.axis == 1 else out
    elif case.fill == 'mean':
        out = np.tile(old[: len(used)].mean(axis=0), (shape[0], 1))
    else:  # 'copy'
        out = np.tile(old[used.index(case.donor)], (shape[0], 1))
    for i, token in enumerate(case.new[: case.new_size]):
        if token in used:
            out[i] = old[used.index(token)]
    out = out.T if case.axis == 1 else out
    return out.astype(np.float32)


def backup_initializer(shape, dtype=tf.float32, partition_info=None):
    """Distinct values -1, -2, ... over the full shape."""
    del partition_info
    n = int(np.prod(shape))
    return tf.reshape(-tf.range(1, n + 1, dtype=dtype), shape)


def constant_fill(shape, dtype=tf.float32, partition_info=None):
    del partition_info
    return tf.fill(shape, tf.constant(FILL, dtype))


class _Files:
    """Writes each case's checkpoint and vocabularies under one directory."""

    def __init__(self, directory):
        self.dir = directory

    def write(self, case):
        d = os.path.join(self.dir, uuid.uuid4().hex)
        os.makedirs(d)
        prefix = os.path.join(d, 'model.ckpt-1')
        tf.raw_ops.SaveV2(
            prefix=prefix,
            tensor_names=['emb'],
            shape_and_slices=[''],
            tensors=[tf.constant(case.old_matrix())],
        )
        paths = []
        for name, tokens in (('old.txt', case.old), ('new.txt', case.new)):
            paths.append(os.path.join(d, name))
            with open(paths[-1], 'w') as f:
                f.write(''.join(t + '\n' for t in tokens))
        return prefix, paths[0], paths[1]


def our_info(case, old_path, new_path):
    kwargs = {}
    if case.fill == 'backup':
        kwargs['backup_initializer'] = backup_initializer
    elif case.fill == 'constant':
        kwargs['backup_initializer'] = constant_fill
    elif case.fill == 'mean':
        kwargs['new_row_init'] = 'mean'
    elif case.fill == 'copy':
        kwargs['new_row_init'] = ('copy', case.donor)
    # Drawn vocabularies may share no token: TensorFlow copies nothing then, and so do we.
    return wsh.VocabInfo(
        new_path,
        case.new_size,
        case.oov,
        old_path,
        case.old_size,
        axis=case.axis,
        allow_no_overlap=True,
        **kwargs,
    )


def graph_value(case, warm_start):
    """Builds 'emb' (partitioned along axis 0 as drawn), warm-starts, returns its value."""
    with tf.Graph().as_default():
        partitioner = tf1.fixed_size_partitioner(case.partitions) if case.partitions > 1 else None
        v = tf1.get_variable(
            'emb',
            shape=case.var_shape,
            initializer=tf1.constant_initializer(FRESH),
            partitioner=partitioner,
        )
        warm_start()
        value = tf.concat(list(v), 0) if case.partitions > 1 else v.read_value()
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            return sess.run(value)


PROPERTY = settings(max_examples=30, deadline=None, derandomize=True, database=None)
TF_PROPERTY = settings(max_examples=15, deadline=None, derandomize=True, database=None)


# Run in a child process: its peak resident memory is the warm start's alone.
_MEMORY_CHILD = r"""
import json, os, sys
import numpy as np
import tensorflow as tf
import warm_start_hooks as wsh

mode, d, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(0)
old = [f'tok{i}' for i in range(rows)]
kept = rng.permutation(rows)[: rows - rows // 10]
new = [old[i] for i in kept] + [f'new{i}' for i in range(rows // 10)]
for name, tokens in (('old.txt', old), ('new.txt', new)):
    with open(os.path.join(d, name), 'w') as f:
        f.write('\n'.join(tokens) + '\n')
values = rng.standard_normal((rows, 64), dtype=np.float32)
prefix = os.path.join(d, 'ckpt')
tf.raw_ops.SaveV2(prefix=prefix, tensor_names=['emb'], shape_and_slices=[''], tensors=[values])
del values, old, new
info = wsh.VocabInfo(os.path.join(d, 'new.txt'), rows, 0, os.path.join(d, 'old.txt'))

def status(field):
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ':'))

def start():
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # The peak (VmHWM) starts again from the resident set now.
    return status('VmRSS')

if mode == 'graph':
    with tf.Graph().as_default():
        tf.compat.v1.get_variable('emb', [rows, 64], initializer=tf.compat.v1.zeros_initializer())
        with tf.compat.v1.Session() as sess:
            base = start()
            wsh.warm_start(prefix, 'emb', {'emb': info})
            sess.run(tf.compat.v1.global_variables_initializer())
            peak = status('VmHWM')
else:
    v = tf.Variable(tf.zeros([rows, 64]))
    base = start()
    wsh.warm_start(prefix, variables={'emb': v}, var_name_to_vocab_info={'emb': info})
    peak = status('VmHWM')
print(json.dumps({'peak_over_bytes': (peak - base) / (rows * 64 * 4)}))
"""


class MemoryTest(parameterized.TestCase):
    """With default settings a remap holds at most 1.3x the variable's bytes beyond the model."""

    @parameterized.named_parameters(('graph', 'graph'), ('eager', 'eager'))
    def test_peak_memory_with_default_settings(self, mode):
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
        except OSError:
            self.skipTest('Needs Linux /proc/self/clear_refs to measure the peak memory.')
        d = self.create_tempdir().full_path
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), TF_CPP_MIN_LOG_LEVEL='2')
        proc = subprocess.run(
            [sys.executable, '-c', _MEMORY_CHILD, mode, d, '300000'],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        ratio = json.loads(proc.stdout.strip().splitlines()[-1])['peak_over_bytes']
        self.assertLessEqual(ratio, 1.3)
        self.assertGreaterEqual(ratio, 0.9)  # The new values themselves are counted.


class ThreadedRemapTest(parameterized.TestCase):
    """Vocabularies of thousands of tokens in small memory: rows read and scattered in
    many pieces on two threads, value for value against TensorFlow's warm start."""

    @parameterized.named_parameters(('one_part', 1), ('three_parts', 3))
    def test_many_pieces_match_tensorflow_warm_start(self, partitions):
        d = self.create_tempdir().full_path
        rows, dim = 3000, 4
        rng = np.random.default_rng(partitions)
        old = [f'tok{i}' for i in range(rows)]
        new = [old[i] for i in rng.permutation(rows)[: rows - 300]]
        new = [new[i] for i in rng.permutation(len(new))] + [f'new{i}' for i in range(300)]
        paths = {}
        for name, tokens in (('old', old), ('new', new)):
            paths[name] = os.path.join(d, f'{name}.txt')
            with open(paths[name], 'w') as f:
                f.write('\n'.join(tokens) + '\n')
        prefix = os.path.join(d, 'ckpt')
        values = rng.standard_normal((rows, dim)).astype(np.float32)
        tf.raw_ops.SaveV2(
            prefix=prefix, tensor_names=['emb'], shape_and_slices=[''], tensors=[values]
        )

        def value(warm_start):
            with tf.Graph().as_default():
                part = tf1.fixed_size_partitioner(partitions) if partitions > 1 else None
                v = tf1.get_variable(
                    'emb', [rows, dim], initializer=tf1.zeros_initializer(), partitioner=part
                )
                warm_start()
                read = tf.concat(list(v), 0) if partitions > 1 else v.read_value()
                with tf1.Session() as sess:
                    sess.run(tf1.global_variables_initializer())
                    return sess.run(read)

        ours = value(
            lambda: wsh.warm_start(
                prefix,
                'emb',
                {'emb': wsh.VocabInfo(paths['new'], rows, 0, paths['old'])},
                # 32 rows of 16 bytes: two threads, pieces of 8 rows, hundreds of them.
                max_bytes_in_memory=512,
            )
        )
        theirs = value(
            lambda: tf1.train.warm_start(
                prefix, 'emb', {'emb': tf1.train.VocabInfo(paths['new'], rows, 0, paths['old'])}
            )
        )
        np.testing.assert_array_equal(ours, theirs)
        self.assertEqual(int(np.count_nonzero(~ours.any(axis=1))), 300)  # New tokens: zeros.


class RemapPropertyTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.files = _Files(self.create_tempdir().full_path)

    def _ours_graph(self, case, backend='numpy'):
        prefix, old, new = self.files.write(case)
        return graph_value(
            case,
            lambda: wsh.warm_start(
                prefix,
                'emb',
                var_name_to_vocab_info={'emb': our_info(case, old, new)},
                remap_backend=backend,
                max_bytes_in_memory=case.max_bytes,
            ),
        )

    @PROPERTY
    @given(case=cases())
    def test_graph_partitioned_matches_oracle(self, case):
        np.testing.assert_allclose(self._ours_graph(case), oracle(case), rtol=1e-6, err_msg=case)

    @PROPERTY
    @given(case=cases())
    def test_eager_matches_oracle(self, case):
        prefix, old, new = self.files.write(case)
        variables = {'emb': tf.Variable(np.full(case.var_shape, FRESH, np.float32))}
        report = wsh.warm_start(
            prefix,
            variables=variables,
            var_name_to_vocab_info={'emb': our_info(case, old, new)},
            max_bytes_in_memory=case.max_bytes,
        )
        np.testing.assert_allclose(variables['emb'].numpy(), oracle(case), rtol=1e-6, err_msg=case)
        (entry,) = report.entries
        found = sum(t in case.old_used for t in case.new[: case.new_size])
        self.assertEqual(entry.vocab.kept + entry.vocab.moved, found)
        self.assertEqual(entry.vocab.new, case.new_size - found)

    @TF_PROPERTY
    @given(case=cases(tf_compatible=True))
    def test_graph_matches_tensorflow_warm_start(self, case):
        prefix, old, new = self.files.write(case)
        init = constant_fill if case.fill == 'constant' else None
        theirs = graph_value(
            case,
            lambda: tf1.train.warm_start(
                prefix,
                'emb',
                var_name_to_vocab_info={
                    'emb': tf1.train.VocabInfo(
                        new, case.new_size, case.oov, old, case.old_size, init, case.axis
                    )
                },
            ),
        )
        ours = graph_value(
            case,
            lambda: wsh.warm_start(
                prefix,
                'emb',
                var_name_to_vocab_info={'emb': our_info(case, old, new)},
                max_bytes_in_memory=case.max_bytes,
            ),
        )
        np.testing.assert_array_equal(ours, theirs, err_msg=case)
        np.testing.assert_array_equal(ours, oracle(case), err_msg=case)

    @TF_PROPERTY
    @given(case=cases(tf_compatible=True))
    def test_tf_ops_backend_matches_numpy_backend(self, case):
        np.testing.assert_array_equal(
            self._ours_graph(case, 'tf_ops'), self._ours_graph(case, 'numpy'), err_msg=case
        )


if __name__ == '__main__':
    absltest.main()
