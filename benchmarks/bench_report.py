"""The benchmark's targets, ratios, tables and plot, computed from its figures.

Imports neither TensorFlow nor the library except to describe the machine,
so `bench.py --plot_from=...` runs anywhere matplotlib is installed.
"""

from __future__ import annotations

import os
import platform

# Performance targets, checked on the measured figures (never asserted in tests).
TARGETS = {
    'speedup_vs_tf': 10.0,
    'ours_over_restore': 3.0,
    'partitions_over_one': 1.2,
    'peak_over_bytes': 1.3,
    'small_over_restore_step': 1.2,
    'per_row_over_1m': 1.2,
}

# Cases whose `ours` is a graph-mode vocabulary remap with a `tf_warm_start` and a `restore`.
_REMAPS = ('vocab_p', 'scale_', 'memory_bound')


def _contenders(by: dict) -> dict:
    return {k: v for k, v in by.items() if not k.startswith('_')}


def _sec(results, case, who, field='seconds'):
    return results.get(case, {}).get(who, {}).get(field)


def _ratio(a, b):
    return a / b if a is not None and b else None


def _adder(out: list[dict]):
    def add(name, value, target, better='lower'):
        ok = None
        if value is not None:
            ok = value >= target if better == 'higher' else value <= target
        out.append({'ratio': name, 'value': value, 'target': target, 'better': better, 'met': ok})

    return add


def compute_ratios(results: dict) -> list[dict]:
    """The ratios the targets are about, from `results[case][contender]`."""
    out: list[dict] = []
    add = _adder(out)
    for case in results:
        if case.startswith(_REMAPS):
            ours = _sec(results, case, 'ours')
            tf_time, restore = _sec(results, case, 'tf_warm_start'), _sec(results, case, 'restore')
            add(
                f'{case}: tf_warm_start / ours (time)',
                _ratio(tf_time, ours),
                TARGETS['speedup_vs_tf'],
                'higher',
            )
            add(
                f'{case}: ours / restore (time)',
                _ratio(ours, restore),
                TARGETS['ours_over_restore'],
            )
            peak = _sec(results, case, 'ours', 'peak_over_bytes')
            add(f'{case}: ours peak RSS / variable bytes', peak, TARGETS['peak_over_bytes'])
    _growth_ratios(results, add)
    if 'small_vars' in results:
        _small_ratios(results, add)
    if 'eager_embedding' in results:
        for who in ('ours', 'ours_remap'):
            add(
                f'eager_embedding: {who} / restore (time)',
                _ratio(
                    _sec(results, 'eager_embedding', who),
                    _sec(results, 'eager_embedding', 'restore'),
                ),
                TARGETS['ours_over_restore'],
            )
        add(
            'eager_embedding: ours_remap peak RSS / variable bytes',
            _sec(results, 'eager_embedding', 'ours_remap', 'peak_over_bytes'),
            TARGETS['peak_over_bytes'],
        )
    return out


def _growth_ratios(results: dict, add) -> None:
    """Partitions against one part, and time per row against vocab_p1's."""
    base = _sec(results, 'vocab_p1', 'ours')
    for case in results:
        if case.startswith('vocab_p') and case != 'vocab_p1':
            add(
                f'{case} / vocab_p1: ours (time)',
                _ratio(_sec(results, case, 'ours'), base),
                TARGETS['partitions_over_one'],
            )
        if case.startswith('scale_') and 'vocab_p1' in results:
            per_row = _ratio(_sec(results, case, 'ours'), results[case]['_rows'])
            add(
                f'{case} / vocab_p1: ours time per row',
                _ratio(per_row, _ratio(base, results['vocab_p1']['_rows'])),
                TARGETS['per_row_over_1m'],
            )


def _small_ratios(results: dict, add) -> None:
    """Ours against the restore step alone (the target) and with the Saver's construction."""
    ours = _sec(results, 'small_vars', 'ours')
    add(
        'small_vars: ours / restore step alone (time)',
        _ratio(ours, _sec(results, 'small_vars', 'restore', 'run_seconds')),
        TARGETS['small_over_restore_step'],
    )
    add(
        'small_vars: ours / restore incl. Saver construction (time)',
        _ratio(ours, _sec(results, 'small_vars', 'restore')),
        TARGETS['small_over_restore_step'],
    )
    add(
        'small_vars: tf_warm_start / ours (time)',
        _ratio(_sec(results, 'small_vars', 'tf_warm_start'), ours),
        1.0,
        'higher',
    )


def same_values(results: dict) -> dict[str, bool | None]:
    """Whether contenders that must agree left the same values (sha256), per case."""
    pairs = []
    for case in results:
        if case.startswith(_REMAPS):
            pairs.append((case, 'ours', 'tf_warm_start'))
        elif case == 'small_vars':
            pairs += [(case, 'ours', 'restore'), (case, 'tf_warm_start', 'restore')]
        elif case == 'eager_embedding':
            pairs += [(case, 'ours', 'restore'), (case, 'ours_remap', 'tf_warm_start')]
    out = {}
    for case, a, b in pairs:
        ha, hb = _sec(results, case, a, 'sha256'), _sec(results, case, b, 'sha256')
        out[f'{case}: {a} == {b}'] = None if ha is None or hb is None else ha == hb
    return out


def machine() -> dict:
    """What the figures were measured on."""
    import numpy as np
    import tensorflow as tf

    model = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    load = os.getloadavg() if hasattr(os, 'getloadavg') else None
    return {
        'cpu': model,
        'cores': cores,
        'memory_gib': round((os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')) / 2**30, 1),
        'load_average_at_end': [round(x, 2) for x in load] if load else None,
        'python': platform.python_version(),
        'tensorflow': tf.__version__,
        'numpy': np.__version__,
        'platform': platform.platform(),
    }


def _fmt(x, spec='.3f'):
    return '-' if x is None else format(x, spec)


def report(out: dict) -> str:
    """A plain-text table of the figures, the ratios and the value checks."""
    lines = [
        f'{"case":<16} {"contender":<14} {"total_s":>8} {"build_s":>8} {"run_s":>8} '
        f'{"runs_s":>20} {"peak_MiB":>9} {"peak/var":>8} {"sha256":>12}'
    ]
    for case, by in out['results'].items():
        for who, r in _contenders(by).items():
            if 'error' in r:
                lines.append(f'{case:<16} {who:<14} FAILED: {r["error"].strip().splitlines()[-1]}')
                continue
            runs = ','.join(f'{s:.2f}' for s in r['runs_seconds'])
            lines.append(
                f'{case:<16} {who:<14} {_fmt(r["seconds"]):>8} {_fmt(r["build_seconds"]):>8} '
                f'{_fmt(r["run_seconds"]):>8} {runs:>20} {r["peak_rss_delta_bytes"] / 2**20:>9.1f} '
                f'{_fmt(r["peak_over_bytes"], ".2f"):>8} {r["sha256"][:12]:>12}'
            )
    lines.append('')
    for r in out['ratios']:
        met = {True: 'met', False: 'MISSED', None: '-'}[r['met']]
        sign = '>=' if r['better'] == 'higher' else '<='
        lines.append(
            f'{r["ratio"]:<58} {_fmt(r["value"], ".2f"):>7}  (target {sign} {r["target"]}) {met}'
        )
    lines.append('')
    for name, same in out['same_values'].items():
        lines.append(
            f'{name:<58} {"same values" if same else "DIFFERENT" if same is False else "-"}'
        )
    return '\n'.join(lines)


def markdown(out: dict) -> str:
    """The figures, the ratios and the value checks of one run as Markdown tables."""
    lines = [
        '| case | contender | total s | build s | run s | median s | runs (s) | peak RSS MiB '
        '| peak / var |',
        '|---|---|---:|---:|---:|---:|---|---:|---:|',
    ]
    for case, by in out['results'].items():
        for who, r in _contenders(by).items():
            if 'error' in r:
                lines.append(f'| {case} | {who} | failed | | | | | | |')
                continue
            runs = ', '.join(f'{s:.2f}' for s in r['runs_seconds'])
            lines.append(
                f'| {case} | {who} | {r["seconds"]:.3f} | {r["build_seconds"]:.3f} | '
                f'{r["run_seconds"]:.3f} | {_fmt(r.get("median_seconds"))} | {runs} | '
                f'{r["peak_rss_delta_bytes"] / 2**20:.0f} | '
                f'{_fmt(r["peak_over_bytes"], ".2f")} |'
            )
    lines += ['', '| ratio | value | target | |', '|---|---:|---:|---|']
    for r in out['ratios']:
        met = {True: 'met', False: '**missed**', None: '-'}[r['met']]
        sign = '>=' if r['better'] == 'higher' else '<='
        lines.append(f'| {r["ratio"]} | {_fmt(r["value"], ".2f")} | {sign} {r["target"]} | {met} |')
    lines += ['', '| values (sha256 of the whole variable) | |', '|---|---|']
    for name, same in out['same_values'].items():
        lines.append(
            f'| {name} | {"same" if same else "**different**" if same is False else "-"} |'
        )
    return '\n'.join(lines)


def scale_points(out: dict) -> dict[str, list[tuple[int, float]]]:
    """(rows, seconds) of each contender over vocab_p1 and the scale cases."""
    points: dict[str, list[tuple[int, float]]] = {}
    for case, by in out['results'].items():
        if case == 'vocab_p1' or case.startswith('scale_'):
            for who in ('ours', 'tf_warm_start', 'restore'):
                seconds = by.get(who, {}).get('seconds')
                if seconds is not None:
                    points.setdefault(who, []).append((by['_rows'], seconds))
    return {who: sorted(p) for who, p in points.items()}


def plot(runs: list[dict], path: str) -> bool:
    """Time against vocabulary size, one panel per run (stack); False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        print(f'matplotlib is not installed: no plot written to {path}.')
        return False
    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 4.2), squeeze=False)
    labels = {
        'ours': 'warm_start_hooks',
        'tf_warm_start': 'tf warm_start',
        'restore': 'Saver.restore',
    }
    for ax, out in zip(axes[0], runs):
        for who, points in scale_points(out).items():
            rows, seconds = zip(*points)
            ax.plot(rows, seconds, marker='o', label=labels.get(who, who))
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlabel('vocabulary size (rows of a float32 x 64 embedding)')
        ax.set_ylabel('seconds (fastest of the runs)')
        ax.set_title(f'TensorFlow {out["machine"]["tensorflow"]}, graph mode, 1 partition')
        ax.grid(True, which='both', alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f'Wrote {path}')
    return True
