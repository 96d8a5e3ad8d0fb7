"""Provenance: a JSON sidecar that ties a warm-started model to its source.

Do not import this module directly; use `import warm_start_hooks` instead.
"""

from __future__ import annotations

import json
import os
import time

import tensorflow as tf

from warm_start_hooks import _report

FILENAME = 'warm_start_provenance.json'


def write(
    directory: str | bytes | os.PathLike, report: _report.WarmStartReport, fingerprint: str
) -> str:
    """Writes `warm_start_provenance.json` into `directory`; returns its path.

    The file records the source checkpoint, its fingerprint (sha256 of the
    index and data file sizes), when, and each variable's source and action.
    """
    directory = os.fsdecode(directory)
    tf.io.gfile.makedirs(directory)
    path = os.path.join(directory, FILENAME)
    data = {
        'format': 1,
        'written_unix_time': time.time(),
        'source': report.source,
        'source_fingerprint_sha256': fingerprint,
        'object_based': report.object_based,
        'variables': [
            {
                'name': e.name,
                'action': e.action,
                'source_key': e.source_key,
                'shape': list(e.shape),
                'dtype': e.dtype,
                'cast_from': e.source_dtype if e.cast else None,
                'vocab': None
                if e.vocab is None
                else {
                    'axis': e.vocab.axis,
                    'kept': e.vocab.kept,
                    'moved': e.vocab.moved,
                    'new': e.vocab.new,
                    'oov': e.vocab.oov,
                    'dropped': e.vocab.dropped,
                    'new_vocab': e.vocab.new_vocab,
                    'old_vocab': e.vocab.old_vocab,
                },
                'reason': e.reason,
            }
            for e in report.entries
        ],
    }
    tmp = path + '.tmp'
    with tf.io.gfile.GFile(tmp, 'w') as f:
        f.write(json.dumps(data, indent=2, sort_keys=True))
    tf.io.gfile.rename(tmp, path, overwrite=True)
    return path


def read(directory: str) -> dict:
    """Reads the sidecar written by `write`."""
    with tf.io.gfile.GFile(os.path.join(directory, FILENAME)) as f:
        return json.load(f)
