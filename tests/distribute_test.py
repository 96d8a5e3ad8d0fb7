"""Tests for warm_start_hooks._distribute: warm starts under tf.distribute and on PS clusters.

Each distributed scenario runs in a child Python process with a time limit,
so that its devices (two logical CPUs for `MirroredStrategy`) are configured
before TensorFlow starts, and its in-process `tf.distribute.Server`s (which
cannot be stopped) end with it. The child prints its results as JSON; the
tests compare them with a numpy oracle for every replica and shard, and with
TensorFlow's own `warm_start` where TensorFlow has one.

  * `MirroredStrategyTest`: the core (eager and graph), `WarmStartHook` in a
    `MonitoredTrainingSession` and the Keras callback under `MirroredStrategy`
    with two logical CPUs.
  * `ParameterServerStrategyTest`: TF2 `ParameterServerStrategy` with a
    `variable_partitioner` (`ShardedVariable`s): the core with
    `variables=[...]`, the Keras 2 callback in `fit`, and a Keras 3 model.
  * `ReplicaDeviceSetterTest`: TF1 distributed training: partitioned
    variables placed on two `/job:ps` tasks (in another process, as in a real
    cluster) by `replica_device_setter`, a chief and a worker session
    (`MonitoredTrainingSession`) with `WarmStartHook`: the graph an Estimator
    builds from a TF_CONFIG with parameter servers, on every TensorFlow.

Servers listen on 127.0.0.1, on ports picked at run time.
"""

import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import types

import cluster as processes
import numpy as np
import tensorflow as tf
import testutil
from absl.testing import absltest
from absl.testing import parameterized

import warm_start_hooks
from warm_start_hooks import _distribute

OLD_WORDS = ['a', 'b', 'c', 'd', 'e', 'f']
NEW_WORDS = ['f', 'x', 'b', 'a', 'y', 'd']
NUM_OOV = 2
ROWS = len(NEW_WORDS) + NUM_OOV  # 8 rows: two shards of 4, the OOV rows in the second.
BACKUP = -1.0  # Rows with no old value (new tokens, OOV buckets).
OLD_EMB = (np.arange(18, dtype=np.float32).reshape(6, 3) + 1.0).tolist()
OLD_W = (np.arange(6, dtype=np.float32).reshape(3, 2) + 10.0).tolist()
OLD_BIAS = [0.5, -0.5]

_MARK = 'DISTRIBUTE_TEST_RESULT '
_CHILD_TIMEOUT_S = 120
_BOOT = (
    'import importlib.util, sys\n'
    "spec = importlib.util.spec_from_file_location('distribute_test_child', sys.argv[1])\n"
    'module = importlib.util.module_from_spec(spec)\n'
    'spec.loader.exec_module(module)\n'
    'module._child_main(sys.argv[2:])\n'
)
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(warm_start_hooks.__file__)))


def _keras_major():
    try:
        return int(importlib.import_module('keras').__version__.split('.')[0])
    except ImportError:
        return 0


def _importable(name):
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        return False


# ---- the numpy oracle --------------------------------------------------------


def _oracle_emb(backup=BACKUP):
    """The remapped embedding: each new token's old row, `backup` for the rest."""
    old = np.asarray(OLD_EMB, np.float32)
    out = np.full((ROWS, old.shape[1]), backup, np.float32)
    for i, word in enumerate(NEW_WORDS):
        if word in OLD_WORDS:
            out[i] = old[OLD_WORDS.index(word)]
    return out


def _oracle_counts(offset, rows):
    """(copied, new, oov) rows of the remapped embedding in rows [offset, offset + rows)."""
    copied = new = oov = 0
    for i in range(offset, offset + rows):
        if i >= len(NEW_WORDS):
            oov += 1
        elif NEW_WORDS[i] in OLD_WORDS:
            copied += 1
        else:
            new += 1
    return copied, new, oov


# ---- the child process -------------------------------------------------------


def _addresses(n):
    return [f'127.0.0.1:{port}' for port in processes.free_ports(n)]


def _run_child(scenario, *args):
    """Runs `scenario` in a child Python process; returns the JSON it prints."""
    env = processes.child_env([_ROOT, os.path.dirname(os.path.abspath(__file__))])
    command = [sys.executable, '-c', _BOOT, os.path.abspath(__file__), scenario, *args]
    for attempt in range(2):
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=_CHILD_TIMEOUT_S, env=env
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith(_MARK)]
        if proc.returncode == 0 and lines:
            return json.loads(lines[-1][len(_MARK) :])
        # A port picked at run time may be taken by the time a server binds it.
        if attempt == 0 and 'Could not start gRPC server' in proc.stderr:
            continue
        raise AssertionError(
            f'scenario {scenario!r} failed (exit code {proc.returncode}):\n'
            f'{proc.stdout[-2000:]}\n{proc.stderr[-6000:]}'
        )
    raise AssertionError(f'scenario {scenario!r}: no free ports')


def _attempt(out, key, fn, *args):
    """`out[key] = fn(*args)`, or the traceback: one failing part does not hide the others."""
    try:
        out[key] = fn(*args)
    except Exception:  # pylint: disable=broad-except
        out[key] = {'error': traceback.format_exc()}


def _child_main(argv):
    scenario, *args = argv
    result = _SCENARIOS[scenario](*args)
    sys.stdout.write(_MARK + json.dumps(result) + '\n')
    sys.stdout.flush()
    sys.stderr.flush()
    # In-process servers and strategy threads cannot be shut down; leave at once.
    os._exit(0)


def _write_sources(workdir):
    """A name-based checkpoint (emb [6, 3], w [3, 2]) and the vocabulary files."""
    paths = {}
    for name, words in (('old', OLD_WORDS), ('new', NEW_WORDS)):
        paths[name] = os.path.join(workdir, f'{name}_vocab.txt')
        with open(paths[name], 'w') as f:
            f.write('\n'.join(words) + '\n')
    with tf.Graph().as_default():
        tf.compat.v1.get_variable('emb', initializer=np.asarray(OLD_EMB, np.float32))
        tf.compat.v1.get_variable('w', initializer=np.asarray(OLD_W, np.float32))
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            paths['ckpt'] = tf.compat.v1.train.Saver().save(
                sess, os.path.join(workdir, 'source', 'model.ckpt')
            )
    return paths


def _backup():
    # A constant draw; TensorFlow calls a partitioned variable's initializer with a
    # symbolic shape, which constant_initializer does not take.
    return tf.compat.v1.initializers.random_uniform(BACKUP, BACKUP)


def _vocab_info(paths, backup=True):
    return warm_start_hooks.VocabInfo(
        paths['new'],
        len(NEW_WORDS),
        NUM_OOV,
        paths['old'],
        backup_initializer=_backup() if backup else None,
    )


def _keras_model(keras, rows, names):
    model = keras.Sequential(
        [keras.layers.Embedding(rows, 3, name=names[0]), keras.layers.Dense(2, name=names[1])]
    )
    model.build((None, 1))
    return model


def _save_old_keras_model(keras, workdir):
    """A Keras model with other layer names than the new one: matched by object path."""
    old = _keras_model(keras, len(OLD_WORDS), ('old_emb', 'old_head'))
    old.layers[0].embeddings.assign(np.asarray(OLD_EMB, np.float32))
    old.layers[1].kernel.assign(np.asarray(OLD_W, np.float32))
    old.layers[1].bias.assign(np.asarray(OLD_BIAS, np.float32))
    if int(keras.__version__.split('.')[0]) >= 3:
        path = os.path.join(workdir, 'old_keras3.weights.h5')
    else:
        path = os.path.join(workdir, f'old_{keras.__name__}', 'weights')
    old.save_weights(path)
    return path


def _keras_name(keras, variable, name):
    """The name a VocabInfo uses: Keras 3 `path`, the Keras 2 name otherwise."""
    return variable.path if int(keras.__version__.split('.')[0]) >= 3 else name


def _replica_values(variable):
    if hasattr(variable, 'path') and not isinstance(variable, tf.Variable):
        variable = variable.value  # Keras 3: the tf.distribute variable it holds.
    return {
        'values': [np.asarray(v.numpy()).tolist() for v in _distribute.replicas(variable)],
        'devices': [v.device for v in _distribute.replicas(variable)],
    }


def _shard_values(variable):
    if hasattr(variable, 'path') and not _distribute.is_sharded(variable):
        variable = variable.value  # Keras 3: the ShardedVariable it holds.
    return {
        'values': [np.asarray(v.numpy()).tolist() for v in variable.variables],
        'devices': [v.device for v in variable.variables],
    }


def _details(report):
    return {
        e.name: [dict(vars(p)) for p in e.parts_detail] for e in report.entries if e.parts_detail
    }


def _mirrored_eager(strategy, paths):
    with strategy.scope():
        emb = tf.Variable(tf.ones([ROWS, 3]), name='emb')
        w = tf.Variable(tf.ones([3, 2]), name='w')
    report = warm_start_hooks.warm_start(
        paths['ckpt'], variables=[emb, w], var_name_to_vocab_info={'emb': _vocab_info(paths)}
    )
    return {'emb': _replica_values(emb), 'w': _replica_values(w), 'names': report.names()}


def _mirrored_graph(paths):
    """Graph mode: the overridden initializers write every replica."""
    with tf.Graph().as_default():
        strategy = tf.compat.v1.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
        with strategy.scope():
            ones = tf.compat.v1.ones_initializer()
            emb = tf.compat.v1.get_variable('emb', [ROWS, 3], initializer=ones)
            w = tf.compat.v1.get_variable('w', [3, 2], initializer=ones)
        warm_start_hooks.warm_start(paths['ckpt'], '.*', {'emb': _vocab_info(paths)})
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return {
                name: {'values': [sess.run(c).tolist() for c in v.values]}
                for name, v in (('emb', emb), ('w', w))
            }


def _mirrored_hook(paths):
    """WarmStartHook in a MonitoredTrainingSession over mirrored graph variables."""
    from warm_start_hooks import estimator as wse  # pylint: disable=import-outside-toplevel

    with tf.Graph().as_default():
        strategy = tf.compat.v1.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
        with strategy.scope():
            ones = tf.compat.v1.ones_initializer()
            emb = tf.compat.v1.get_variable('emb', [ROWS, 3], initializer=ones)
            w = tf.compat.v1.get_variable('w', [3, 2], initializer=ones)
        tf.compat.v1.train.get_or_create_global_step()
        hook = wse.WarmStartHook(
            warm_start_hooks.WarmStartSettings(
                paths['ckpt'], '.*', var_name_to_vocab_info={'emb': _vocab_info(paths)}
            )
        )
        with tf.compat.v1.train.MonitoredTrainingSession(hooks=[hook]) as sess:
            return {
                name: {'values': [sess.run(c).tolist() for c in v.values]}
                for name, v in (('emb', emb), ('w', w))
            }


def _keras_fit(strategy, paths, workdir, flavour, fit_kwargs):
    """The callback of `flavour` warm-starts a model built under `strategy` in fit()."""
    from warm_start_hooks import keras as wsk  # pylint: disable=import-outside-toplevel

    keras = importlib.import_module(flavour)
    source = _save_old_keras_model(keras, workdir)
    with strategy.scope():
        model = _keras_model(keras, ROWS, ('emb', 'head'))
        model.compile(keras.optimizers.SGD(0.0), 'mse')
    embeddings = model.layers[0].embeddings
    name = _keras_name(keras, embeddings, 'emb/embeddings')
    callback_class = getattr(
        wsk, 'TfKerasWarmStartCallback' if flavour == 'tf_keras' else 'WarmStartCallback'
    )
    callback = callback_class(
        warm_start_hooks.WarmStartSettings(
            source, var_name_to_vocab_info={name: _vocab_info(paths)}
        )
    )
    model.fit(callbacks=[callback], verbose=0, **fit_kwargs)
    return model, callback.report


def _scenario_mirrored(workdir):
    cpu = tf.config.list_physical_devices('CPU')[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    paths = _write_sources(workdir)
    strategy = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
    out = {}
    _attempt(out, 'eager', _mirrored_eager, strategy, paths)
    _attempt(out, 'graph', _mirrored_graph, paths)
    _attempt(out, 'hook', _mirrored_hook, paths)

    def keras_fit():
        x, y = np.zeros((4, 1), np.int32), np.zeros((4, 1, 2), np.float32)
        fit_kwargs = {'x': x, 'y': y, 'batch_size': 4, 'epochs': 1}
        model, report = _keras_fit(strategy, paths, workdir, 'keras', fit_kwargs)
        return {
            'emb': _replica_values(model.layers[0].embeddings),
            'w': _replica_values(model.layers[1].kernel),
            'bias': _replica_values(model.layers[1].bias),
            'applied': report.applied,
        }

    _attempt(out, 'keras', keras_fit)
    return out


def _ps_core(strategy, paths):
    """ShardedVariables passed as a list; their names come from their shards."""
    with strategy.scope():
        emb = tf.Variable(tf.ones([ROWS, 3]), name='emb')
        w = tf.Variable(tf.ones([3, 2]), name='w')
    report = warm_start_hooks.warm_start(
        paths['ckpt'], variables=[emb, w], var_name_to_vocab_info={'emb': _vocab_info(paths)}
    )
    return {
        'emb': _shard_values(emb),
        'w': _shard_values(w),
        'names': report.names(),
        'details': _details(report),
        'table': report.table(),
    }


def _ps_keras2(strategy, paths, workdir, flavour):
    """Keras 2 lists a ShardedVariable's shards as the model's variables."""
    data = tf.data.Dataset.from_tensors(
        (np.zeros((4, 1), np.int32), np.zeros((4, 1, 2), np.float32))
    ).repeat()
    fit_kwargs = {'x': data, 'epochs': 1, 'steps_per_epoch': 1}
    model, report = _keras_fit(strategy, paths, workdir, flavour, fit_kwargs)
    return {
        'emb': _shard_values(model.layers[0].embeddings),
        'w': _shard_values(model.layers[1].kernel),
        'bias': _shard_values(model.layers[1].bias),
        'details': _details(report),
        'renamed_by': [e.renamed_by for e in report.entries],
    }


def _ps_keras3(strategy, paths, workdir):
    """Keras 3 variables hold a ShardedVariable each."""
    keras = importlib.import_module('keras')
    source = _save_old_keras_model(keras, workdir)
    with strategy.scope():
        model = _keras_model(keras, ROWS, ('emb', 'head'))
    embeddings = model.layers[0].embeddings
    warm_start_hooks.warm_start(
        source, variables=model, var_name_to_vocab_info={embeddings.path: _vocab_info(paths)}
    )
    return {
        'emb': _shard_values(embeddings),
        'w': _shard_values(model.layers[1].kernel),
        'bias': _shard_values(model.layers[1].bias),
    }


def _scenario_parameter_server(workdir):
    paths = _write_sources(workdir)
    spec = tf.train.ClusterSpec(
        {'chief': _addresses(1), 'worker': _addresses(2), 'ps': _addresses(2)}
    )
    # The chief is this process (the coordinator); workers and PS are in-process servers.
    config = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=3)
    for job in ('worker', 'ps'):
        for task in range(2):
            tf.distribute.Server(spec, job_name=job, task_index=task, config=config, start=True)
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(spec, rpc_layer='grpc')
    strategy = tf.distribute.experimental.ParameterServerStrategy(
        resolver,
        variable_partitioner=tf.distribute.experimental.partitioners.FixedShardsPartitioner(2),
    )
    out = {}
    _attempt(out, 'core', _ps_core, strategy, paths)
    # Keras 2: tf.keras on TensorFlow <= 2.15, else the tf_keras package.
    keras_major = _keras_major()
    flavour = 'keras' if keras_major == 2 else 'tf_keras'
    if _importable(flavour):
        _attempt(out, 'keras2', _ps_keras2, strategy, paths, workdir, flavour)
    if keras_major >= 3:
        _attempt(out, 'keras3', _ps_keras3, strategy, paths, workdir)
    return out


def _scenario_serve(spec, tasks):
    """Runs servers for `tasks` of `spec` until stdin closes (the parent has ended)."""
    cluster = tf.train.ClusterSpec(json.loads(spec))
    config = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=4)
    servers = [
        tf.distribute.Server(cluster, job_name=job, task_index=task, config=config, start=True)
        for job, task in json.loads(tasks)
    ]
    sys.stdout.write('READY\n')
    sys.stdout.flush()
    sys.stdin.read()
    del servers
    return {}


def _ps_graph(cluster, job):
    """Partitioned emb and w on two PS tasks; one training step adds 1 to every value."""
    setter = tf.compat.v1.train.replica_device_setter(
        ps_tasks=2, worker_device=f'/job:{job}/task:0', cluster=cluster
    )
    with tf.compat.v1.device(setter):
        ones = tf.compat.v1.ones_initializer()
        partitioner = tf.compat.v1.fixed_size_partitioner(2)
        emb = tf.compat.v1.get_variable('emb', [ROWS, 3], initializer=ones, partitioner=partitioner)
        w = tf.compat.v1.get_variable('w', [3, 2], initializer=ones, partitioner=partitioner)
        step = tf.compat.v1.train.get_or_create_global_step()
        parts = list(emb) + list(w)
        train = tf.group(step.assign_add(1), *[p.assign_add(tf.ones(p.shape)) for p in parts])
    return {'emb': list(emb), 'w': list(w)}, train


def _ps_session(cluster, target, job, hook, model_dir, train):
    """One MonitoredTrainingSession of the chief (`model_dir`) or of a worker (None)."""
    with tf.Graph().as_default() as graph:
        parts, train_op = _ps_graph(cluster, job)
        with tf.compat.v1.train.MonitoredTrainingSession(
            master=target,
            is_chief=model_dir is not None,
            checkpoint_dir=model_dir,
            hooks=[hook],
            save_checkpoint_steps=1 if model_dir else None,
            save_checkpoint_secs=None,
            save_summaries_steps=None,
            save_summaries_secs=None,
            log_step_count_steps=None,
        ) as sess:
            values = sess.run(parts)
            if train:
                sess.run(train_op)
        remaps = [
            {'device': op.device, 'inputs': [t.op.type for t in op.inputs], 'name': op.name}
            for op in graph.get_operations()
            if op.type in ('PyFunc', 'EagerPyFunc')
        ]
    report = hook.report
    return {
        'values': {k: [v.tolist() for v in vs] for k, vs in values.items()},
        'devices': {k: [p.device for p in ps] for k, ps in parts.items()},
        'applied': report.applied,
        'skipped_reason': report.skipped_reason,
        'details': _details(report),
        'remap_ops': remaps,
    }


def _scenario_replica_device_setter(workdir):
    from warm_start_hooks import estimator as wse  # pylint: disable=import-outside-toplevel

    paths = _write_sources(workdir)
    addresses = {'chief': _addresses(1), 'worker': _addresses(1), 'ps': _addresses(2)}
    cluster = tf.train.ClusterSpec(addresses)
    # The PS tasks and the worker run in another process, as on real machines: a
    # numpy_function placed there would fail ('Could not find callback').
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    servers = subprocess.Popen(
        [
            sys.executable,
            '-c',
            _BOOT,
            os.path.abspath(__file__),
            'serve',
            json.dumps(addresses),
            json.dumps([['ps', 0], ['ps', 1], ['worker', 0]]),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        if not servers.stdout.readline().startswith('READY'):
            raise RuntimeError('the PS and worker servers did not start')
        chief = tf.distribute.Server(cluster, job_name='chief', task_index=0, start=True)
        worker_target = f'grpc://{addresses["worker"][0]}'
        model_dir = os.path.join(workdir, 'model')
        # No backup_initializer: new rows are zeros, and each remap op feeds its assign.
        info = _vocab_info(paths, backup=False)

        def hook(give_model_dir, is_chief=None):
            settings = warm_start_hooks.WarmStartSettings(
                paths['ckpt'], '.*', var_name_to_vocab_info={'emb': info}
            )
            return wse.WarmStartHook(
                settings, model_dir=model_dir if give_model_dir else None, is_chief=is_chief
            )

        out = {
            # The chief warm-starts, trains one step and saves a checkpoint.
            'first': _ps_session(cluster, chief.target, 'chief', hook(True), model_dir, True),
            # A worker session finds the variables initialized by the chief.
            'worker': _ps_session(cluster, worker_target, 'worker', hook(False), None, False),
            # Told it is no chief (as MonitoredTrainingSession is), it plans nothing.
            'worker_not_chief': _ps_session(
                cluster, worker_target, 'worker', hook(False, is_chief=False), None, False
            ),
            # The chief restarts: the overridden initializers exist but do not run.
            'resumed': _ps_session(cluster, chief.target, 'chief', hook(False), model_dir, False),
            # The chief restarts with model_dir: nothing is planned.
            'resumed_model_dir': _ps_session(
                cluster, chief.target, 'chief', hook(True), model_dir, False
            ),
        }
    finally:
        servers.stdin.close()
        try:
            servers.wait(timeout=20)
        except subprocess.TimeoutExpired:
            servers.kill()
    # TensorFlow's own warm start of the same partitioned variables, on one machine.
    with tf.Graph().as_default():
        ones = tf.compat.v1.ones_initializer()
        partitioner = tf.compat.v1.fixed_size_partitioner(2)
        emb = tf.compat.v1.get_variable('emb', [ROWS, 3], initializer=ones, partitioner=partitioner)
        w = tf.compat.v1.get_variable('w', [3, 2], initializer=ones, partitioner=partitioner)
        tf_info = tf.compat.v1.train.VocabInfo(paths['new'], len(NEW_WORDS), NUM_OOV, paths['old'])
        tf.compat.v1.train.warm_start(paths['ckpt'], '.*', {'emb': tf_info})
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            out['tensorflow'] = {
                'emb': [sess.run(p).tolist() for p in emb],
                'w': [sess.run(p).tolist() for p in w],
            }
    return out


# ---- an Estimator cluster of processes (TF_CONFIG) ------------------------------

EST_OLD_WORDS = ['doctor', 'nurse', 'lawyer', 'teacher']
EST_NEW_WORDS = ['lawyer', 'pilot', 'doctor', 'teacher', 'chef']
EST_EMB = 'dnn/input_from_feature_columns/input_layer/occ_embedding/embedding_weights'
EST_VARIANTS = ('tensorflow', 'estimator', 'hook')
EST_TASKS = ('chief', 'worker', 'evaluator')
EST_MAX_STEPS = 3
_EST_WAIT_S = 150


def _has_estimator():
    try:
        return tf.estimator.DNNClassifier is not None
    except (AttributeError, ImportError):
        return False


def _est_old_values():
    rng = np.random.default_rng(7)

    def draw(*shape):
        return rng.uniform(-1.0, 1.0, shape).astype(np.float32)

    return {
        EST_EMB: draw(len(EST_OLD_WORDS) + 1, 2),  # + 1 OOV row.
        'dnn/hiddenlayer_0/kernel': draw(2, 3),
        'dnn/hiddenlayer_0/bias': draw(3),
        'dnn/logits/kernel': draw(3, 3),
        'dnn/logits/bias': draw(3),
    }


def _est_oracle_emb():
    """The remapped embedding: each new token's old row; zeros for new tokens and OOV."""
    old = _est_old_values()[EST_EMB]
    out = np.zeros((len(EST_NEW_WORDS) + 1, 2), np.float32)
    for i, word in enumerate(EST_NEW_WORDS):
        if word in EST_OLD_WORDS:
            out[i] = old[EST_OLD_WORDS.index(word)]
    return out


def _poll(condition, what, timeout_s=_EST_WAIT_S):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f'gave up after {timeout_s} s waiting for {what}')
        time.sleep(0.1)


class _Signal(tf.compat.v1.train.SessionRunHook):
    """The worker's session exists: the chief may start training (a test-only hook)."""

    def __init__(self, path):
        self._path = path

    def after_create_session(self, session, coord):
        with open(self._path, 'w'):
            pass


class _WaitForWorker(tf.compat.v1.train.SessionRunHook):
    """The chief trains only once the worker has joined, so both really train."""

    def __init__(self, path):
        self._path = path

    def begin(self):
        self._waited = False

    def before_run(self, run_context):
        if not self._waited:
            _poll(lambda: os.path.exists(self._path), 'the worker session')
            self._waited = True


def _est_estimator(model_dir, new_vocab, **kwargs):
    column = tf.feature_column.categorical_column_with_vocabulary_file(
        'occ', new_vocab, vocabulary_size=len(EST_NEW_WORDS), num_oov_buckets=1
    )
    config = tf.estimator.RunConfig(
        model_dir=model_dir,
        tf_random_seed=3,
        save_summary_steps=None,
        log_step_count_steps=None,
        experimental_max_worker_delay_secs=0,
    )
    return tf.estimator.DNNClassifier(
        [3],
        [tf.feature_column.embedding_column(column, dimension=2)],
        n_classes=3,
        optimizer=tf.keras.optimizers.legacy.SGD(learning_rate=0.0),
        config=config,
        **kwargs,
    )


def _est_input_fn():
    features = {'occ': [['doctor'], ['pilot'], ['lawyer']]}
    return tf.data.Dataset.from_tensor_slices((features, [[0], [1], [2]])).batch(3).repeat()


def _est_settings(variant, shared):
    """TensorFlow's settings read absolute paths; ours relative ones, found on the chief only."""
    if variant == 'tensorflow':
        source, old_vocab = os.path.join(shared, 'old'), os.path.join(shared, 'old_vocab.txt')
    else:
        source, old_vocab = 'old', 'old_vocab.txt'
    new_vocab = os.path.join(shared, 'new_vocab.txt')
    info = tf.estimator.VocabInfo(new_vocab, len(EST_NEW_WORDS), 1, old_vocab)
    return tf.estimator.WarmStartSettings(source, '.*', {EST_EMB: info})


def _est_variant(task, variant, spec, workdir):
    """One `train_and_evaluate` of `variant` as `task`; returns this task's warm-start report."""
    from warm_start_hooks import estimator as wse  # pylint: disable=import-outside-toplevel

    os.environ['TF_CONFIG'] = processes.tf_config(spec, task, 0)
    shared = os.path.join(workdir, 'shared')
    model_dir = os.path.join(workdir, 'models', variant)
    flag = os.path.join(workdir, f'{variant}_worker_joined')
    settings = _est_settings(variant, shared)
    new_vocab = os.path.join(shared, 'new_vocab.txt')
    hooks = [_WaitForWorker(flag)] if task == 'chief' else [_Signal(flag)]
    ours = None
    if variant == 'tensorflow':
        estimator = _est_estimator(model_dir, new_vocab, warm_start_from=settings)
    elif variant == 'estimator':
        estimator = wse.warm_started_estimator(_est_estimator(model_dir, new_vocab), settings)
    else:
        estimator = _est_estimator(model_dir, new_vocab)
        ours = wse.WarmStartHook(settings, model_dir=model_dir)
        hooks.append(ours)
    if task == 'worker':  # Joins once the chief has initialized the variables.
        _poll(lambda: tf.train.latest_checkpoint(model_dir), "the chief's first checkpoint")
    tf.estimator.train_and_evaluate(
        estimator,
        tf.estimator.TrainSpec(_est_input_fn, max_steps=EST_MAX_STEPS, hooks=hooks),
        tf.estimator.EvalSpec(_est_input_fn, steps=1, start_delay_secs=0, throttle_secs=0),
    )
    if variant == 'estimator':
        ours = estimator._model_fn  # pylint: disable=protected-access
    report = None if ours is None else ours.report
    if report is None:
        return None
    return {'applied': report.applied, 'reason': report.skipped_reason, 'names': report.names()}


def _est_task(task, specs, workdir):
    """A task of the Estimator cluster: the three variants one after the other."""
    if task == 'ps':
        servers = [
            tf.distribute.Server(tf.train.ClusterSpec(spec), job_name='ps', task_index=0)
            for spec in specs.values()
        ]
        sys.stdout.write('READY\n')
        sys.stdout.flush()
        sys.stdin.read()  # Until the test ends this process.
        del servers
        return {}
    out = {}
    for variant in EST_VARIANTS:
        start = time.monotonic()
        _attempt(out, variant, _est_variant, task, variant, specs[variant], workdir)
        out[f'{variant}_seconds'] = time.monotonic() - start
    out['files_here'] = sorted(os.listdir('.'))
    return out


def child_main(argv):
    """The entry point of `cluster.Cluster` children: a task of the Estimator cluster."""
    task, specs, workdir = argv[0], json.loads(argv[1]), argv[2]
    processes.print_result(_est_task(task, specs, workdir))
    os._exit(0)  # Servers cannot be shut down.


_SCENARIOS = {
    'mirrored': _scenario_mirrored,
    'parameter_server': _scenario_parameter_server,
    'replica_device_setter': _scenario_replica_device_setter,
    'serve': _scenario_serve,
}


# ---- the tests ---------------------------------------------------------------


class _ChildTest(parameterized.TestCase):
    scenario = ''
    result = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._workdir = tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir())
        cls.result = _run_child(cls.scenario, cls._workdir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls._workdir, ignore_errors=True)
        super().tearDownClass()

    def part(self, key):
        """The child's result for `key`; fails with its traceback if that part failed."""
        self.assertIn(key, self.result)
        got = self.result[key]
        if 'error' in got:
            self.fail(f'{self.scenario} {key} failed in the child process:\n{got["error"]}')
        return got

    def assert_rows(self, parts, expected, msg=''):
        """Each part (a shard or partition) holds its rows of `expected`, in order."""
        row = 0
        for i, part in enumerate(parts):
            part = np.asarray(part, np.float32)
            np.testing.assert_allclose(
                part, expected[row : row + len(part)], err_msg=f'{msg} part {i}'
            )
            row += len(part)
        self.assertEqual(row, len(expected), msg)

    def assert_details(self, details, msg=''):
        """Per-part counts of the remapped embedding match the oracle."""
        self.assertLen(details, 2, msg)
        row = 0
        for detail in details:
            self.assertEqual(detail['offset'], row, msg)
            copied, new, oov = _oracle_counts(detail['offset'], detail['rows'])
            self.assertEqual(
                (detail['copied'], detail['new'], detail['oov']), (copied, new, oov), msg
            )
            row += detail['rows']
        self.assertEqual(row, ROWS, msg)


class MirroredStrategyTest(_ChildTest):
    scenario = 'mirrored'

    @parameterized.named_parameters(
        ('eager', 'eager', ('emb', 'w')),
        ('graph', 'graph', ('emb', 'w')),
        ('hook', 'hook', ('emb', 'w')),
        ('keras_callback', 'keras', ('emb', 'w', 'bias')),
    )
    def test_every_replica_matches_oracle(self, case, names):
        got = self.part(case)
        expected = {'emb': _oracle_emb(), 'w': np.asarray(OLD_W), 'bias': np.asarray(OLD_BIAS)}
        for name in names:
            replicas = got[name]['values']
            self.assertLen(replicas, 2, name)
            for i, value in enumerate(replicas):
                np.testing.assert_allclose(value, expected[name], err_msg=f'{name} replica {i}')
            # Replicas hold identical values, bit for bit.
            np.testing.assert_array_equal(replicas[0], replicas[1], err_msg=name)

    def test_replicas_are_on_both_devices(self):
        devices = self.part('eager')['emb']['devices']
        self.assertEqual([d.split('/')[-1] for d in devices], ['device:CPU:0', 'device:CPU:1'])

    def test_report_names_mirrored_variables(self):
        self.assertEqual(self.part('eager')['names'], ['emb', 'w'])
        self.assertTrue(self.part('keras')['applied'])


class ParameterServerStrategyTest(_ChildTest):
    scenario = 'parameter_server'

    def test_each_shard_holds_its_rows_of_oracle(self):
        core = self.part('core')
        self.assert_rows(core['emb']['values'], _oracle_emb(), 'emb')
        self.assert_rows(core['w']['values'], np.asarray(OLD_W), 'w')
        # The OOV rows (6 and 7) are in the second shard, on the second PS task.
        self.assertLen(core['emb']['values'][1], 4)
        np.testing.assert_allclose(core['emb']['values'][1][2:], np.full((2, 3), BACKUP))
        self.assertEqual(
            [d.split('/replica')[0] for d in core['emb']['devices']], ['/job:ps', '/job:ps']
        )
        self.assertNotEqual(core['emb']['devices'][0], core['emb']['devices'][1])

    def test_sharded_variables_are_named_by_their_shards(self):
        # A ShardedVariable's own name is 'ShardedVariable'; each is one target.
        self.assertEqual(self.part('core')['names'], ['emb', 'w'])

    def test_report_lists_rows_per_shard(self):
        core = self.part('core')
        details = core['details']
        self.assert_details(details['emb'], 'emb')
        self.assertEqual([d['device'] for d in details['emb']], core['emb']['devices'])
        self.assertEqual(
            [(d['offset'], d['rows'], d['copied']) for d in details['w']], [(0, 2, 2), (2, 1, 1)]
        )
        self.assertIn('2 parts: rows 0-3 on ps:', core['table'])
        self.assertIn('(3 copied, 1 new, 0 oov)', core['table'])
        self.assertIn('(1 copied, 1 new, 2 oov)', core['table'])

    def test_keras2_callback_warm_starts_shards(self):
        if 'keras2' not in self.result:
            self.skipTest('Keras 2 (tf.keras or tf_keras) is not installed.')
        got = self.part('keras2')
        self.assert_rows(got['emb']['values'], _oracle_emb(), 'emb')
        self.assert_rows(got['w']['values'], np.asarray(OLD_W), 'kernel')
        self.assert_rows(got['bias']['values'], np.asarray(OLD_BIAS), 'bias')
        self.assert_details(got['details']['emb/embeddings'], 'emb/embeddings')
        # The old model's layers are named otherwise: found by object path.
        self.assertEqual(got['renamed_by'], ['object path'] * 3)

    @absltest.skipUnless(_keras_major() >= 3, 'Keras 3 is not installed.')
    def test_keras3_model_warm_starts_shards(self):
        got = self.part('keras3')
        self.assertLen(got['emb']['values'], 2)
        self.assert_rows(got['emb']['values'], _oracle_emb(), 'emb')
        self.assert_rows(got['w']['values'], np.asarray(OLD_W), 'kernel')
        self.assert_rows(got['bias']['values'], np.asarray(OLD_BIAS), 'bias')


class ReplicaDeviceSetterTest(_ChildTest):
    scenario = 'replica_device_setter'

    def test_partitions_on_ps_match_oracle_and_tensorflow(self):
        first = self.part('first')
        self.assertTrue(first['applied'])
        self.assertEqual(first['devices']['emb'], ['/job:ps/task:0', '/job:ps/task:1'])
        self.assert_rows(first['values']['emb'], _oracle_emb(0.0), 'emb')
        self.assert_rows(first['values']['w'], np.asarray(OLD_W), 'w')
        tf_values = self.part('tensorflow')
        for name in ('emb', 'w'):
            for ours, theirs in zip(first['values'][name], tf_values[name]):
                np.testing.assert_allclose(ours, theirs, err_msg=name)
        self.assert_details(first['details']['emb'], 'emb')

    def test_numpy_remap_is_not_placed_on_ps(self):
        # It ran (the values above); the remap op has an input and no device, so the
        # placer keeps it on the chief instead of moving it to its consumers on the PS
        # tasks. One op computes both partitions (the old rows are read once).
        ops = self.part('first')['remap_ops']
        self.assertLen([op for op in ops if '/remap' in op['name']], 1)
        # So is the check that the checkpoint did not change since planning (one op).
        self.assertLen([op for op in ops if '/check_source' in op['name']], 1)
        for op in ops:
            self.assertEqual(op['device'], '')
            self.assertEqual(op['inputs'], ['Const'])

    @parameterized.named_parameters(
        ('worker', 'worker'),
        ('worker_not_chief', 'worker_not_chief'),
        ('resumed_chief', 'resumed'),
        ('resumed_chief_with_model_dir', 'resumed_model_dir'),
    )
    def test_session_keeps_trained_values(self, run):
        # The first session trained one step (+1); a later session must not warm-start again.
        part = self.part(run)
        got = part['values']
        self.assert_rows(got['emb'], _oracle_emb(0.0) + 1.0, f'{run} emb')
        self.assert_rows(got['w'], np.asarray(OLD_W) + 1.0, f'{run} w')
        # ... and its report says that the warm start did not run.
        self.assertFalse(part['applied'], run)
        self.assertTrue(part['skipped_reason'], run)

    def test_worker_not_chief_reports_why(self):
        got = self.part('worker_not_chief')
        self.assertIn('is not the chief', got['skipped_reason'])
        self.assertIn('(is_chief=False, from argument)', got['skipped_reason'])
        self.assertEqual(got['details'], {})  # Nothing was planned.

    def test_resumed_chief_with_model_dir_reports_skip(self):
        got = self.part('resumed_model_dir')
        self.assertFalse(got['applied'])
        self.assertIn('the model restored its own checkpoint', got['skipped_reason'])


@absltest.skipUnless(_has_estimator(), 'tf.estimator needs TensorFlow <= 2.15 with estimator.')
class EstimatorClusterTest(parameterized.TestCase):
    """`train_and_evaluate` on a TF_CONFIG cluster of processes: chief, worker, ps, evaluator.

    Three runs in the same cluster shape: TensorFlow's `warm_start_from`,
    `warm_started_estimator` and `WarmStartHook` in the `TrainSpec`, with a
    vocabulary remap and a learning rate of 0, so each final checkpoint holds
    the warm-started values. Our settings name the old checkpoint and
    vocabulary by relative paths that exist in the chief's directory only.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.workdir = tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir())
        dirs = {t: os.path.join(cls.workdir, t) for t in ('chief', 'worker', 'evaluator', 'ps')}
        for d in dirs.values():
            os.makedirs(d)
        for where in (dirs['chief'], os.path.join(cls.workdir, 'shared')):
            os.makedirs(os.path.join(where, 'old'))
            testutil.save_v1_checkpoint(
                os.path.join(where, 'old', 'model.ckpt'), _est_old_values(), global_step=5
            )
            testutil.write_lines(where, 'old_vocab.txt', EST_OLD_WORDS)
        testutil.write_lines(os.path.join(cls.workdir, 'shared'), 'new_vocab.txt', EST_NEW_WORDS)

        def launch(c, attempt):
            ports = iter(processes.free_ports(3 * len(EST_VARIANTS)))
            specs = {
                v: {job: [f'127.0.0.1:{next(ports)}'] for job in ('chief', 'worker', 'ps')}
                for v in EST_VARIANTS
            }
            argv = [json.dumps(specs), cls.workdir]
            c.start('ps', ['ps', *argv], cwd=dirs['ps'], stdin=True)
            for task in EST_TASKS:
                c.start(task, [task, *argv], cwd=dirs[task])

        start = time.monotonic()
        cls.results = processes.run_cluster(
            cls, __file__, _ROOT, launch, list(EST_TASKS), timeout_s=480
        )
        cls.seconds = time.monotonic() - start
        times = {
            task: {v: round(got.get(f'{v}_seconds', 0.0), 1) for v in EST_VARIANTS}
            for task, got in cls.results.items()
        }
        print(
            f'EstimatorClusterTest: the cluster ran for {cls.seconds:.1f} s; seconds per run '
            f'and task: {times}',
            file=sys.stderr,
        )

    def report(self, task, variant):
        got = self.results[task]
        if isinstance(got.get(variant), dict) and 'error' in got[variant]:
            self.fail(f'{variant} failed on {task}:\n{got[variant]["error"]}')
        return got.get(variant)

    def checkpoint(self, variant):
        reader = tf.train.load_checkpoint(os.path.join(self.workdir, 'models', variant))
        return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}

    @parameterized.named_parameters(('estimator', 'estimator'), ('hook', 'hook'))
    def test_checkpoint_equals_warm_start_from(self, variant):
        for task in EST_TASKS:
            self.report(task, variant)
            self.report(task, 'tensorflow')
        ours, theirs = self.checkpoint(variant), self.checkpoint('tensorflow')
        self.assertEqual(sorted(ours), sorted(theirs))
        compared = 0
        for name, value in theirs.items():
            if name == 'global_step' or name.endswith('/iter'):
                continue  # Steps taken by the chief and the worker, not warm-started.
            np.testing.assert_array_equal(ours[name], value, err_msg=name)
            compared += 1
        self.assertGreaterEqual(compared, 5)
        np.testing.assert_array_equal(ours[EST_EMB], _est_oracle_emb())
        self.assertGreaterEqual(ours['global_step'], EST_MAX_STEPS)

    @parameterized.named_parameters(
        ('estimator', 'estimator', 'argument'), ('hook', 'hook', 'TF_CONFIG')
    )
    def test_only_the_chief_applies(self, variant, found_by):
        chief = self.report('chief', variant)
        self.assertTrue(chief['applied'])
        self.assertIn(EST_EMB, chief['names'])
        worker = self.report('worker', variant)
        self.assertFalse(worker['applied'])
        self.assertIn(
            f'worker:0 (is_chief=False, from {found_by}), is not the chief', worker['reason']
        )
        self.assertIn('read no checkpoint or vocabulary', worker['reason'])

    def test_evaluator_restores_instead(self):
        evaluator = self.report('evaluator', 'estimator')
        self.assertFalse(evaluator['applied'])
        self.assertIn('the model restored its own checkpoint', evaluator['reason'])
        self.assertIsNone(self.report('evaluator', 'hook'))  # A TrainSpec hook: not there.

    def test_only_the_chief_can_read_the_sources(self):
        # Worker and evaluator ran where the relative paths resolve to nothing.
        self.assertEqual(self.results['chief']['files_here'], ['old', 'old_vocab.txt'])
        self.assertEmpty(self.results['worker']['files_here'])
        self.assertEmpty(self.results['evaluator']['files_here'])


def _config(cluster, kind=None, index=0):
    config = {'cluster': cluster}
    if kind is not None:
        config['task'] = {'type': kind, 'index': index}
    return json.dumps(config)


_PS_CLUSTER = {'chief': ['c:1'], 'worker': ['w:1', 'w:2'], 'ps': ['p:1']}
_WORKERS = {'worker': ['w:1', 'w:2']}


class TaskRoleTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ('no_tf_config', '', True, '', 'default'),
        (
            'no_cluster',
            json.dumps({'task': {'type': 'worker', 'index': 1}}),
            True,
            'worker:1',
            'default',
        ),
        ('chief', _config(_PS_CLUSTER, 'chief'), True, 'chief:0', 'TF_CONFIG'),
        ('master', _config({'master': ['m:1']}, 'master'), True, 'master:0', 'TF_CONFIG'),
        ('worker_beside_chief', _config(_PS_CLUSTER, 'worker', 0), False, 'worker:0', 'TF_CONFIG'),
        ('second_worker', _config(_PS_CLUSTER, 'worker', 1), False, 'worker:1', 'TF_CONFIG'),
        ('first_of_workers', _config(_WORKERS, 'worker', 0), True, 'worker:0', 'TF_CONFIG'),
        ('second_of_workers', _config(_WORKERS, 'worker', 1), False, 'worker:1', 'TF_CONFIG'),
        ('ps', _config(_PS_CLUSTER, 'ps'), False, 'ps:0', 'TF_CONFIG'),
        ('evaluator', _config(_PS_CLUSTER, 'evaluator'), True, 'evaluator:0', 'TF_CONFIG'),
    )
    def test_role_from_tf_config(self, tf_config, is_chief, task, found_by):
        self.assertEqual(
            _distribute.task_role(tf_config=tf_config),
            _distribute.TaskRole(is_chief, task, found_by),
        )

    def test_argument_wins_over_tf_config(self):
        role = _distribute.task_role(False, tf_config=_config(_PS_CLUSTER, 'chief'))
        self.assertEqual(role, _distribute.TaskRole(False, 'chief:0', 'argument'))
        self.assertEqual(role.describe(), 'chief:0 (is_chief=False, from argument)')

    def test_reads_the_environment(self):
        with absltest.mock.patch.dict(os.environ, {'TF_CONFIG': _config(_WORKERS, 'worker', 1)}):
            self.assertFalse(_distribute.task_role().is_chief)

    @parameterized.named_parameters(
        ('not_json', '{cluster'),
        ('not_an_object', '[1]'),
        ('index_not_int', _config(_WORKERS, 'worker', '1')),
    )
    def test_bad_tf_config_raises(self, tf_config):
        with self.assertRaisesRegex(ValueError, 'TF_CONFIG.*Received: TF_CONFIG='):
            _distribute.task_role(tf_config=tf_config)


class HelpersTest(parameterized.TestCase):
    def test_part_details_count_rows_per_part(self):
        index = np.array([5, -1, 1, 0, -1, 3, -1, -1])
        parts = [
            types.SimpleNamespace(
                variable=types.SimpleNamespace(device='/job:ps/task:0'), offset=(0, 0), shape=(4, 3)
            ),
            types.SimpleNamespace(
                variable=types.SimpleNamespace(device='/job:ps/task:1'), offset=(4, 0), shape=(4, 3)
            ),
        ]
        got = _distribute.part_details(parts, index, new_vocab_size=6)
        self.assertEqual(
            got,
            (
                _distribute.PartDetail(0, 4, '/job:ps/task:0', copied=3, new=1, oov=0),
                _distribute.PartDetail(4, 4, '/job:ps/task:1', copied=1, new=1, oov=2),
            ),
        )
        self.assertEqual([d.copied for d in _distribute.part_details(parts)], [4, 4])

    def test_local_numpy_function_leaves_device_scope(self):
        with tf.Graph().as_default():
            with tf.compat.v1.device('/job:ps/task:0'):
                value = _distribute.local_numpy_function(
                    lambda: np.full([2], 3.0, np.float32), tf.float32, [2], name='remap'
                )
            self.assertEqual(value.op.device, '')
            self.assertLen(value.op.inputs, 1)
            self.assertEqual(value.shape.as_list(), [2])
            with tf.compat.v1.Session() as sess:
                np.testing.assert_array_equal(sess.run(value), [3.0, 3.0])

    def test_plain_variable_is_not_distributed(self):
        v = tf.Variable([1.0])
        self.assertFalse(_distribute.is_distributed(v))
        self.assertFalse(_distribute.is_sharded(v))
        self.assertIsNone(_distribute.container(v))
        self.assertEqual(_distribute.replicas(v), (v,))
        self.assertIsNone(_distribute.assign_op(v, tf.constant([2.0])))


if __name__ == '__main__':
    absltest.main()
