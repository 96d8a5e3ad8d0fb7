"""What each benchmark case writes, and how each contender runs it once.

Used by `bench.py`, which runs every contender of a case the same number of
times in a fresh process. A run returns its figures: time (split into the
build step and the run step), peak memory over the resident set just before
the warm start, and the values it left (sum and sha256), so that ours and
TensorFlow's can be compared value for value.
"""

from __future__ import annotations

import hashlib
import os
import time

# ---- memory --------------------------------------------------------------


def _status_bytes(field: str) -> int | None:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _maxrss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Memory:
    """Peak resident set growth from a baseline, via /proc (Linux) or getrusage."""

    def __init__(self):
        self.baseline = 0
        self.reset = False

    def start(self) -> None:
        try:
            # '5' resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0).
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
            self.reset = True
        except OSError:
            self.reset = False
        self.baseline = _status_bytes('VmRSS') or _maxrss()

    def peak_delta(self) -> int:
        peak = _status_bytes('VmHWM') if self.reset else None
        return max(0, (peak if peak is not None else _maxrss()) - self.baseline)


# ---- setup: checkpoints and vocabularies ---------------------------------


def _write_lines(path: str, tokens) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        for start in range(0, len(tokens), 1 << 20):
            f.write('\n'.join(tokens[start : start + (1 << 20)]))
            f.write('\n')


def _save_v2(prefix: str, named: dict) -> None:
    """Writes a name-based checkpoint, as `Saver` does, one tensor a key."""
    import tensorflow as tf

    names = sorted(named)
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[''] * len(names),
        tensors=[tf.convert_to_tensor(named[n]) for n in names],
    )


def setup_vocab(d: str, rows: int, dim: int, cfg) -> dict:
    """Old/new vocabularies (shuffled, `new_fraction` new) and a checkpoint of `emb`."""
    import numpy as np

    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(cfg['seed'])
    old = [f'tok{i:08d}' for i in range(rows)]
    n_new = int(round(rows * cfg['new_fraction']))
    keep = rng.choice(rows, rows - n_new, replace=False)
    new = [old[i] for i in keep] + [f'new{i:08d}' for i in range(n_new)]
    new = [new[i] for i in rng.permutation(rows)]
    _write_lines(os.path.join(d, 'old_vocab.txt'), old)
    _write_lines(os.path.join(d, 'new_vocab.txt'), new)
    del old, new
    values = rng.standard_normal((rows, dim), dtype=np.float32)
    prefix = os.path.join(d, 'model.ckpt')
    _save_v2(prefix, {'emb': values})
    return {
        'prefix': prefix,
        'key': 'emb',
        'old_vocab': os.path.join(d, 'old_vocab.txt'),
        'new_vocab': os.path.join(d, 'new_vocab.txt'),
        'rows': rows,
        'dim': dim,
        'nbytes': rows * dim * 4,
    }


def small_names(n: int) -> list[str]:
    return [f'block{i // 100:03d}/var{i % 100:02d}' for i in range(n)]


def setup_small(d: str, cfg) -> dict:
    import numpy as np

    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(cfg['seed'])
    shape = [int(s) for s in cfg['small_shape']]
    names = small_names(cfg['small_vars'])
    prefix = os.path.join(d, 'model.ckpt')
    _save_v2(prefix, {n: rng.standard_normal(shape, dtype=np.float32) for n in names})
    return {
        'prefix': prefix,
        'n': len(names),
        'shape': shape,
        'nbytes': len(names) * 4 * int(np.prod(shape)),
    }


def _embedding_model(rows: int, dim: int):
    import tensorflow as tf

    keras = tf.keras  # Keras 2 on TF 2.15, Keras 3 from TF 2.16.
    return keras.Sequential(
        [
            keras.Input(shape=(1,), dtype='int32'),
            # Zeros: no large temporary before the baseline, so peak RSS shows the warm start.
            keras.layers.Embedding(rows, dim, embeddings_initializer='zeros', name='embedding'),
        ]
    )


def setup_eager(d: str, cfg, vocab: dict) -> dict:
    """A Keras embedding's `tf.train.Checkpoint`, with the vocabularies of `vocab`."""
    import numpy as np
    import tensorflow as tf

    os.makedirs(d, exist_ok=True)
    model = _embedding_model(vocab['rows'], vocab['dim'])
    rng = np.random.default_rng(cfg['seed'] + 1)
    model.layers[-1].embeddings.assign(
        rng.standard_normal((vocab['rows'], vocab['dim']), dtype=np.float32)
    )
    prefix = tf.train.Checkpoint(model=model).write(os.path.join(d, 'model.ckpt'))
    key = next(
        name
        for name, _ in tf.train.list_variables(prefix)
        if name.startswith('model/') and name.endswith('/.ATTRIBUTES/VARIABLE_VALUE')
    )
    return dict(vocab, prefix=prefix, key=key)


# ---- contenders ------------------------------------------------------------


def _import_all(wsh) -> None:
    """Imports every contender's modules before the clock starts.

    `warm_start_hooks` imports its modules on first use, and TensorFlow some
    of its own on first attribute access: a module's import is paid once per
    process, not by a warm start, so no contender's time includes it.
    """
    import tensorflow as tf

    tf1 = tf.compat.v1
    for name in wsh.__all__:
        getattr(wsh, name)
    for name in ('warm_start', 'VocabInfo', 'Saver', 'Checkpoint'):
        getattr(tf1.train, name)
    tf.train.Checkpoint  # noqa: B018


def _graph_value(sess, var):
    """The variable's whole value (its parts in row order) as numpy."""
    import tensorflow as tf

    parts = var._get_variable_list() if hasattr(var, '_get_variable_list') else [var]
    return sess.run(tf.concat(parts, 0) if len(parts) > 1 else parts[0].read_value())


def run_graph_vocab(spec, contender, partitions, max_bytes):
    """A graph-mode embedding remap (ours, TensorFlow's) or a plain `Saver.restore`."""
    import tensorflow as tf

    import warm_start_hooks as wsh

    tf1 = tf.compat.v1
    mem = Memory()
    graph = tf.Graph()
    with graph.as_default():
        emb = tf1.get_variable(
            'emb',
            shape=[spec['rows'], spec['dim']],
            dtype=tf.float32,
            initializer=tf1.zeros_initializer(),
            partitioner=tf1.fixed_size_partitioner(partitions) if partitions > 1 else None,
        )
        sess = tf1.Session(graph=graph)
        prev = {'emb': spec['key']} if spec['key'] != 'emb' else None
        _import_all(wsh)
        mem.start()
        t0 = time.perf_counter()
        if contender in ('ours', 'ours_tf_ops'):
            info = wsh.VocabInfo(spec['new_vocab'], spec['rows'], 0, spec['old_vocab'])
            kwargs = {} if max_bytes == 'auto' else {'max_bytes_in_memory': max_bytes}
            backend = 'tf_ops' if contender == 'ours_tf_ops' else 'numpy'
            wsh.warm_start(
                spec['prefix'], 'emb', {'emb': info}, prev, remap_backend=backend, **kwargs
            )
            t1 = time.perf_counter()
            sess.run(tf1.global_variables_initializer())
        elif contender == 'tf_warm_start':
            info = tf1.train.VocabInfo(spec['new_vocab'], spec['rows'], 0, spec['old_vocab'])
            tf1.train.warm_start(spec['prefix'], 'emb', {'emb': info}, prev)
            t1 = time.perf_counter()
            sess.run(tf1.global_variables_initializer())
        elif contender == 'restore':
            saver = tf1.train.Saver({spec['key']: emb})
            t1 = time.perf_counter()
            saver.restore(sess, spec['prefix'])
        else:
            raise ValueError(contender)
        t2 = time.perf_counter()
        peak = mem.peak_delta()
        value = _graph_value(sess, emb)
        sess.close()
    return figures(t0, t1, t2, peak, spec['nbytes'], value)


def run_small(spec, contender):
    """Many small variables copied (ours, TensorFlow's) or restored (`Saver.restore`)."""
    import numpy as np
    import tensorflow as tf

    import warm_start_hooks as wsh

    tf1 = tf.compat.v1
    mem = Memory()
    graph = tf.Graph()
    with graph.as_default():
        variables = [
            tf1.get_variable(n, shape=spec['shape'], initializer=tf1.zeros_initializer())
            for n in small_names(spec['n'])
        ]
        sess = tf1.Session(graph=graph)
        _import_all(wsh)
        mem.start()
        t0 = time.perf_counter()
        if contender == 'ours':
            wsh.warm_start(spec['prefix'], '.*')
            t1 = time.perf_counter()
            sess.run(tf1.global_variables_initializer())
        elif contender == 'tf_warm_start':
            tf1.train.warm_start(spec['prefix'], '.*')
            t1 = time.perf_counter()
            sess.run(tf1.global_variables_initializer())
        elif contender == 'restore':
            saver = tf1.train.Saver(variables)
            t1 = time.perf_counter()
            saver.restore(sess, spec['prefix'])
        else:
            raise ValueError(contender)
        t2 = time.perf_counter()
        peak = mem.peak_delta()
        value = np.concatenate([v.reshape(-1) for v in sess.run(variables)])
        sess.close()
    return figures(t0, t1, t2, peak, spec['nbytes'], value)


def run_eager(spec, contender):
    """A Keras embedding in eager mode: copied, remapped, or `Checkpoint.restore`d.

    `tf_warm_start` is TensorFlow's warm start of the same remap in graph mode
    (it has no eager mode): the reference for the remapped values.
    """
    import numpy as np
    import tensorflow as tf

    import warm_start_hooks as wsh

    if contender == 'tf_warm_start':
        return run_graph_vocab(spec, contender, 1, 'auto')
    model = _embedding_model(spec['rows'], spec['dim'])
    var = model.layers[-1].embeddings
    mem = Memory()
    _import_all(wsh)
    mem.start()
    t0 = time.perf_counter()
    if contender == 'ours':
        wsh.warm_start(spec['prefix'], variables=model)
    elif contender == 'ours_remap':
        info = wsh.VocabInfo(spec['new_vocab'], spec['rows'], 0, spec['old_vocab'])
        name = wsh.variable_name(var)
        wsh.warm_start(spec['prefix'], '.*', {name: info}, variables=model)
    elif contender == 'restore':
        tf.train.Checkpoint(model=model).read(spec['prefix']).assert_existing_objects_matched()
    else:
        raise ValueError(contender)
    t2 = time.perf_counter()
    peak = mem.peak_delta()
    return figures(t0, t2, t2, peak, spec['nbytes'], np.asarray(var.numpy()))


def figures(t0, t1, t2, peak, nbytes, value) -> dict:
    """What one run measured: times, peak memory, and the values it left."""
    import numpy as np

    value = np.ascontiguousarray(value)
    return {
        'seconds': t2 - t0,
        'build_seconds': t1 - t0,
        'run_seconds': t2 - t1,
        'peak_rss_delta_bytes': peak,
        'variable_bytes': nbytes,
        'peak_over_bytes': peak / nbytes if nbytes else None,
        'checksum': float(value.sum(dtype=np.float64)),
        'sha256': hashlib.sha256(value.view(np.uint8).reshape(-1)).hexdigest(),
    }
