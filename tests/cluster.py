"""Real multi-process clusters for tests: one child Python process per task, on 127.0.0.1.

A test module names its tasks and the function each runs (`child_main`
calls it in the child); `Cluster` starts them with their TF_CONFIG and
working directory, waits for all of them within a time limit, and ends every
process it started by its pid. Each child prints one JSON result line; a
child that fails or runs out of time fails the test with the stderr tails of
every child.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

RESULT_MARK = 'CLUSTER_TEST_RESULT '
_BOOT = (
    'import importlib.util, sys\n'
    "spec = importlib.util.spec_from_file_location('cluster_test_child', sys.argv[1])\n"
    'module = importlib.util.module_from_spec(spec)\n'
    'spec.loader.exec_module(module)\n'
    'module.child_main(sys.argv[2:])\n'
)
_PORT_IN_USE = ('Could not start gRPC server', 'Address already in use', 'Failed to add port')


def free_ports(n):
    """`n` distinct ports free on 127.0.0.1 now (held open together while picked)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(('127.0.0.1', 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def cluster_spec(jobs):
    """{job: [address, ...]} for {job: number of tasks}, on free ports."""
    ports = iter(free_ports(sum(jobs.values())))
    return {job: [f'127.0.0.1:{next(ports)}' for _ in range(n)] for job, n in jobs.items()}


def tf_config(cluster, job, index):
    return json.dumps({'cluster': cluster, 'task': {'type': job, 'index': index}})


def print_result(result):
    """Prints a child's JSON result where `Cluster` finds it."""
    sys.stdout.write(RESULT_MARK + json.dumps(result) + '\n')
    sys.stdout.flush()
    sys.stderr.flush()


def child_env(paths, tf_config_json=None):
    """The environment of a child: `paths` first on the path, quiet TensorFlow."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    env.pop('TF_CONFIG', None)
    if tf_config_json is not None:
        env['TF_CONFIG'] = tf_config_json
    env['PYTHONPATH'] = os.pathsep.join(p for p in (*paths, env.get('PYTHONPATH')) if p)
    return env


class Cluster:
    """Child processes, one per task, started together and always ended.

    Args:
      test_file: The test module (`__file__`); its `child_main(argv)` runs in
        each child.
      root: The directory that holds the `warm_start_hooks` package.
      logdir: Where each child's stdout and stderr go.
    """

    def __init__(self, test_file, root, logdir):
        self._test_file = os.path.abspath(test_file)
        self._root = root
        self._logdir = logdir
        self._procs = {}  # name -> (Popen, stdout path, stderr path)

    def start(self, name, argv, *, cwd=None, tf_config_json=None, stdin=False):
        """Starts task `name` running `child_main(argv)` in `cwd` with TF_CONFIG."""
        out = os.path.join(self._logdir, f'{name}.out')
        err = os.path.join(self._logdir, f'{name}.err')
        with open(out, 'w') as fout, open(err, 'w') as ferr:
            proc = subprocess.Popen(
                [sys.executable, '-c', _BOOT, self._test_file, *argv],
                cwd=cwd,
                env=child_env([self._root, os.path.dirname(self._test_file)], tf_config_json),
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=fout,
                stderr=ferr,
            )
        self._procs[name] = (proc, out, err)
        return proc

    def wait(self, names, timeout_s):
        """Waits for tasks `names` to exit, at most `timeout_s` in all; returns their results.

        Raises:
          AssertionError: A task failed, printed no result, or ran out of time;
            with the tails of every task's output.
        """
        deadline = time.monotonic() + timeout_s
        procs = {name: self._procs[name][0] for name in names}
        while any(p.poll() is None for p in procs.values()):
            failed = [n for n, p in procs.items() if p.poll() not in (None, 0)]
            if failed:  # The others may wait for it forever: end them now.
                self.stop()
                raise AssertionError(
                    f'task(s) {failed} failed; every task was ended.\n{self.tails()}'
                )
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(
                    f'tasks {[n for n, p in procs.items() if p.poll() is None]} did not finish '
                    f'within {timeout_s} s; every task was ended.\n{self.tails()}'
                )
            time.sleep(0.2)
        results = {}
        for name in names:
            proc, out, _ = self._procs[name]
            with open(out) as f:
                lines = [line for line in f.read().splitlines() if line.startswith(RESULT_MARK)]
            if proc.returncode != 0 or not lines:
                raise AssertionError(
                    f'task {name!r} failed (exit code {proc.returncode}, '
                    f'{"a" if lines else "no"} result).\n{self.tails()}'
                )
            results[name] = json.loads(lines[-1][len(RESULT_MARK) :])
        return results

    def port_clash(self):
        """Whether a task failed because a port picked for it was taken meanwhile."""
        for _, _, err in self._procs.values():
            with open(err, errors='replace') as f:
                text = f.read()
            if any(mark in text for mark in _PORT_IN_USE):
                return True
        return False

    def tails(self, chars=3000):
        """The end of every task's stderr and stdout, for failure messages."""
        parts = []
        for name, (proc, out, err) in self._procs.items():
            for label, path in (('stderr', err), ('stdout', out)):
                with open(path, errors='replace') as f:
                    text = f.read()[-chars:]
                parts.append(f'--- {name} (pid {proc.pid}, exit {proc.poll()}) {label}:\n{text}')
        return '\n'.join(parts)

    def stop(self):
        """Ends every task still running, by its pid, and reaps it."""
        for proc, _, _ in self._procs.values():
            if proc.stdin is not None and not proc.stdin.closed:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
            if proc.poll() is None:
                proc.kill()
        for proc, _, _ in self._procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass


def run_cluster(test, test_file, root, launch, names, timeout_s, attempts=2):
    """Starts a cluster with `launch(cluster, attempt)`, waits for `names`, returns their results.

    The cluster is stopped when the wait ends and again at `test`'s cleanup.
    A start that failed because a port was taken meanwhile is retried with
    other ports (`launch` picks them).

    Args:
      test: The `TestCase` (or class) whose cleanup ends the processes;
        `addClassCleanup` is used for a class.
      test_file: The test module's `__file__`.
      root: The directory that holds `warm_start_hooks`.
      launch: `(cluster, attempt) -> None`; starts the tasks.
      names: The tasks to wait for (servers that never exit are left out).
      timeout_s: The time limit for one attempt.
      attempts: How many times to try when ports clash.
    """
    add_cleanup = test.addClassCleanup if isinstance(test, type) else test.addCleanup
    for attempt in range(attempts):
        logdir = tempfile.mkdtemp(prefix='cluster_logs_')
        add_cleanup(shutil.rmtree, logdir, ignore_errors=True)
        cluster = Cluster(test_file, root, logdir)
        add_cleanup(cluster.stop)
        try:
            launch(cluster, attempt)
            return cluster.wait(names, timeout_s)
        except AssertionError:
            if attempt + 1 < attempts and cluster.port_clash():
                continue
            raise
        finally:
            cluster.stop()
    raise AssertionError('unreachable')
