r"""Benchmark: warm_start_hooks against TensorFlow's warm start and a plain restore.

Each case writes the checkpoint it warm-starts from, then runs every
contender on the same bytes: our core (`ours`), TensorFlow's own warm start
(`tf_warm_start`), and a plain restore (`restore`: `Saver.restore` in graph
mode, `tf.train.Checkpoint.restore` in eager mode). Each contender runs in a
fresh process (`--_child=case:contender`), `--repeats` times, every contender
the same number of times; the fastest run counts and every run is recorded.
Time is split into a build step (graph mode: the warm-start call, or the
Saver's construction) and a run step (the initializer, or the restore).
Peak RSS is the high-water mark over the resident set just before the first
run's warm start (after imports, with the model built). The values each
contender leaves are summed and hashed (sha256), so ours and TensorFlow's are
compared value for value at full size.

Cases:
  vocab_pN       Vocabulary remap of a [vocab_rows, dim] float32 embedding,
                 `new_fraction` new tokens, shuffled vocabulary, graph mode,
                 stored in N partitions (one case per `--partitions`).
  scale_R        vocab_p1 with R rows (one case per `--scale_rows`): with
                 vocab_p1, time against vocabulary size.
  small_vars     `small_vars` small variables, plain copy, graph mode.
  memory_bound   Vocabulary remap of a [vocab_rows, big_dim] embedding, graph
                 mode, `max_bytes_in_memory` as given (default: 'auto').
  eager_embedding  A Keras embedding in eager mode: plain copy (`ours`) and
                 vocabulary remap (`ours_remap`) against `Checkpoint.restore`;
                 `tf_warm_start` is TensorFlow's remap of it in graph mode.

Usage:
  PYTHONPATH=. python benchmarks/bench.py                      # full sizes
  PYTHONPATH=. python benchmarks/bench.py --quick              # tiny sizes, seconds
  PYTHONPATH=. python benchmarks/bench.py --cases=small_vars --json_out=/tmp/bench.json
  python benchmarks/bench.py --plot_from=a.json,b.json --plot_out=plot.png  # matplotlib
  python benchmarks/bench.py --tables_from=a.json      # the Markdown tables of RESULTS.md

A full run (all cases, not --quick) writes its JSON beside RESULTS.md as
`results_tf<version>.json`, unless --json_out says otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import bench_cases
import bench_report
from absl import app
from absl import flags
from absl import logging

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_HERE = os.path.dirname(os.path.abspath(__file__))

FLAGS = flags.FLAGS
flags.DEFINE_bool('quick', False, 'Tiny sizes, all contenders in this process (for tests).')
flags.DEFINE_list(
    'cases',
    [],
    'Cases to run (default: all): vocab_pN, scale_R, small_vars, memory_bound, '
    'eager_embedding. `vocab` selects every vocab_pN, `scale` every scale_R.',
)
flags.DEFINE_list('contenders', [], 'Contenders to run (default: all of each case).')
flags.DEFINE_string('json_out', None, 'Write all figures to this JSON file.')
flags.DEFINE_string('workdir', None, 'Where checkpoints are written (default: a temp dir).')
flags.DEFINE_integer('vocab_rows', 1_000_000, 'Vocabulary size (rows) of the remapped embeddings.')
flags.DEFINE_integer('dim', 64, 'Columns of the vocab_pN, scale_R and eager embeddings.')
flags.DEFINE_integer('big_dim', 256, 'Columns of the memory_bound embedding.')
flags.DEFINE_float('new_fraction', 0.1, 'Fraction of new tokens in the new vocabulary.')
flags.DEFINE_list('partitions', ['1', '4', '16'], 'Partition counts of the vocab cases.')
flags.DEFINE_list('scale_rows', ['3000000', '10000000'], 'Vocabulary sizes of the scale cases.')
flags.DEFINE_integer('small_vars', 2000, 'Variables in the small_vars case.')
flags.DEFINE_list('small_shape', ['16', '16'], 'Shape of each small variable.')
flags.DEFINE_string(
    'max_bytes_in_memory', 'auto', "max_bytes_in_memory of the memory_bound case: 'auto' or bytes."
)
flags.DEFINE_bool('isolate', None, 'One process per contender (default: on, off for --quick).')
flags.DEFINE_bool('tf_ops', False, "Also run ours with remap_backend='tf_ops' in vocab cases.")
flags.DEFINE_integer('seed', 0, 'Seed of the random values and vocabulary shuffle.')
flags.DEFINE_integer('repeats', 3, 'Runs of each contender, the same for all (the fastest counts).')
flags.DEFINE_list('plot_from', [], 'Only plot: result JSON files (one per stack) to plot.')
flags.DEFINE_string('tables_from', None, 'Only print Markdown tables of a result JSON file.')
flags.DEFINE_string('plot_out', None, 'Write the time-vs-vocabulary-size plot here (matplotlib).')
flags.DEFINE_string('_child', None, 'Internal: run one case:contender and write its figures.')
flags.DEFINE_string('_result', None, 'Internal: where a child writes its figures.')

# Flags that shape the cases; a child process gets the ones that were given.
_CONFIG_FLAGS = (
    'vocab_rows',
    'dim',
    'big_dim',
    'new_fraction',
    'partitions',
    'scale_rows',
    'small_vars',
    'small_shape',
    'max_bytes_in_memory',
    'tf_ops',
    'seed',
    'repeats',
)

_QUICK = {
    'vocab_rows': 3000,
    'dim': 8,
    'big_dim': 16,
    'small_vars': 40,
    'small_shape': ['4', '4'],
    'max_bytes_in_memory': str(16 << 10),  # Several chunks even at this size.
    'partitions': ['1', '4'],
    'scale_rows': ['6000'],
    'repeats': 1,
}


# ---- cases ---------------------------------------------------------------


def _setup(case: str, workdir: str, cfg) -> dict:
    """Writes what `case` reads (shared between cases where it can); returns its spec."""
    name = 'vocab' if case.startswith('vocab_p') else case
    spec_path = os.path.join(workdir, name + '.json')
    if os.path.exists(spec_path):
        with open(spec_path) as f:
            return json.load(f)
    if case.startswith('vocab_p'):
        spec = bench_cases.setup_vocab(
            os.path.join(workdir, 'vocab'), cfg['vocab_rows'], cfg['dim'], cfg
        )
    elif case.startswith('scale_'):
        rows = int(case[len('scale_') :])
        spec = bench_cases.setup_vocab(os.path.join(workdir, case), rows, cfg['dim'], cfg)
    elif case == 'small_vars':
        spec = bench_cases.setup_small(os.path.join(workdir, 'small'), cfg)
    elif case == 'memory_bound':
        spec = bench_cases.setup_vocab(
            os.path.join(workdir, 'big'), cfg['vocab_rows'], cfg['big_dim'], cfg
        )
    elif case == 'eager_embedding':
        vocab = _setup(f'vocab_p{cfg["partitions"][0]}', workdir, cfg)
        spec = bench_cases.setup_eager(os.path.join(workdir, 'eager'), cfg, vocab)
    else:
        raise app.UsageError(f'Unknown case {case!r}.')
    with open(spec_path, 'w') as f:
        json.dump(spec, f)
    return spec


def _max_bytes(cfg):
    value = cfg['max_bytes_in_memory']
    return value if value == 'auto' else int(value)


def _run_once(case: str, contender: str, spec: dict, cfg) -> dict:
    if case.startswith('vocab_p'):
        return bench_cases.run_graph_vocab(spec, contender, int(case[len('vocab_p') :]), 'auto')
    if case.startswith('scale_'):
        return bench_cases.run_graph_vocab(spec, contender, 1, 'auto')
    if case == 'memory_bound':
        return bench_cases.run_graph_vocab(spec, contender, 1, _max_bytes(cfg))
    if case == 'small_vars':
        return bench_cases.run_small(spec, contender)
    if case == 'eager_embedding':
        return bench_cases.run_eager(spec, contender)
    raise ValueError(case)


def run_contender(case: str, contender: str, workdir: str, cfg) -> dict:
    """Runs one contender of one case `repeats` times in this process; returns its figures.

    Each run is on a fresh graph or model. Times are those of the fastest run
    (every run's total is in `runs_seconds`); peak RSS is the first run's, the
    one a fresh process sees. Every run must leave the same values.
    """
    spec = _setup(case, workdir, cfg)
    runs = [_run_once(case, contender, spec, cfg) for _ in range(cfg['repeats'])]
    if len({r['sha256'] for r in runs}) != 1:
        raise RuntimeError(f'{case}:{contender}: runs left different values.')
    figures = dict(min(runs, key=lambda r: r['seconds']))
    for name in ('peak_rss_delta_bytes', 'peak_over_bytes'):
        figures[name] = runs[0][name]
    figures['runs_seconds'] = [r['seconds'] for r in runs]
    figures['median_seconds'] = statistics.median(figures['runs_seconds'])
    return figures


def _all_contenders(case: str, cfg) -> list[str]:
    if case.startswith('vocab_p'):
        extra = ['ours_tf_ops'] if cfg['tf_ops'] else []
        return ['ours', *extra, 'tf_warm_start', 'restore']
    if case == 'eager_embedding':
        return ['ours', 'ours_remap', 'restore', 'tf_warm_start']
    return ['ours', 'tf_warm_start', 'restore']


def _contenders(case: str, cfg) -> list[str]:
    every = _all_contenders(case, cfg)
    return [c for c in every if c in FLAGS.contenders] if FLAGS.contenders else every


def _config() -> dict:
    cfg = {name: FLAGS[name].value for name in _CONFIG_FLAGS}
    if FLAGS.quick:
        for name, value in _QUICK.items():
            if not FLAGS[name].present:
                cfg[name] = value
    return cfg


def _every_case(cfg) -> list[str]:
    every = [f'vocab_p{p}' for p in cfg['partitions']]
    every += [f'scale_{int(r)}' for r in cfg['scale_rows']]
    return every + ['small_vars', 'memory_bound', 'eager_embedding']


def _cases(cfg) -> list[str]:
    every = _every_case(cfg)
    if not FLAGS.cases:
        return every
    out = []
    for c in FLAGS.cases:
        picked = [e for e in every if e == c or (c in ('vocab', 'scale') and e.startswith(c))]
        if not picked:
            raise app.UsageError(f'Unknown case {c!r}; expected some of {every}, vocab or scale.')
        out += [p for p in picked if p not in out]
    return out


# ---- driver --------------------------------------------------------------


def _child_argv(case: str, contender: str, workdir: str, result: str) -> list[str]:
    argv = [sys.executable, os.path.abspath(__file__)]
    for name in ('quick', *_CONFIG_FLAGS):
        if FLAGS[name].present:
            argv.append(FLAGS[name].serialize())
    return argv + [f'--workdir={workdir}', f'--_child={case}:{contender}', f'--_result={result}']


def _run_isolated(case, contender, workdir) -> dict:
    result = os.path.join(workdir, f'result-{case}-{contender}.json')
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (_REPO, env.get('PYTHONPATH')) if p)
    env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    proc = subprocess.run(
        _child_argv(case, contender, workdir, result),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if proc.returncode != 0:
        return {'error': proc.stdout[-3000:]}
    with open(result) as f:
        return json.load(f)


def _warm_page_cache(spec: dict) -> None:
    """Flushes the setup's files and reads them once: every contender reads the same."""
    if hasattr(os, 'sync'):
        os.sync()
    directory = os.path.dirname(spec['prefix'])
    paths = [os.path.join(directory, name) for name in sorted(os.listdir(directory))]
    paths += [spec[k] for k in ('old_vocab', 'new_vocab') if k in spec]
    for path in paths:
        with open(path, 'rb') as f:
            while f.read(64 << 20):
                pass


def run(cases: list[str], cfg, workdir: str, isolate: bool) -> dict:
    """Runs every contender of every case; returns results, ratios and the machine."""
    results: dict[str, dict] = {}
    for case in cases:
        spec = _setup(case, workdir, cfg)
        _warm_page_cache(spec)
        results[case] = {'_rows': spec.get('rows'), '_variable_bytes': spec['nbytes']}
        for who in _contenders(case, cfg):
            if isolate:
                results[case][who] = _run_isolated(case, who, workdir)
            else:
                results[case][who] = run_contender(case, who, workdir, cfg)
            r = results[case][who]
            print(
                f'{case}:{who}: ' + (f'{r["seconds"]:.3f} s' if 'seconds' in r else 'FAILED'),
                flush=True,
            )
    return {
        'machine': bench_report.machine(),
        'config': cfg,
        'isolated': isolate,
        'results': results,
        'ratios': bench_report.compute_ratios(results),
        'same_values': bench_report.same_values(results),
    }


def _default_json_out(quick: bool) -> str | None:
    """Where a full run of every case writes its JSON: beside RESULTS.md."""
    if quick or FLAGS.cases or FLAGS.contenders:
        return None
    import tensorflow as tf

    version = '.'.join(tf.__version__.split('.')[:2])
    return os.path.join(_HERE, f'results_tf{version}.json')


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
    if FLAGS.tables_from:
        with open(FLAGS.tables_from) as f:
            print(bench_report.markdown(json.load(f)))
        return
    if FLAGS.plot_from:
        runs = []
        for path in FLAGS.plot_from:
            with open(path) as f:
                runs.append(json.load(f))
        bench_report.plot(runs, FLAGS.plot_out or 'time_vs_vocab_size.png')
        return
    cfg = _config()
    logging.set_verbosity(logging.WARNING)  # Reports are logged at INFO.
    if FLAGS._child:
        case, contender = FLAGS._child.split(':')
        figures = run_contender(case, contender, FLAGS.workdir, cfg)
        with open(FLAGS._result, 'w') as f:
            json.dump(figures, f)
        return
    isolate = FLAGS.isolate if FLAGS.isolate is not None else not FLAGS.quick
    cases = _cases(cfg)
    workdir = FLAGS.workdir or tempfile.mkdtemp(prefix='wsh_bench_')
    os.makedirs(workdir, exist_ok=True)
    try:
        out = run(cases, cfg, workdir, isolate)
    finally:
        if not FLAGS.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(json.dumps(out['machine']))
    print(bench_report.report(out))
    json_out = FLAGS.json_out or _default_json_out(FLAGS.quick)
    if json_out:
        with open(json_out, 'w') as f:
            json.dump(out, f, indent=1)
        print(f'Wrote {json_out}')
    if FLAGS.plot_out:
        bench_report.plot([out], FLAGS.plot_out)


if __name__ == '__main__':
    app.run(main)
