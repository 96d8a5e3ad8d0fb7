"""Keras model files as warm-start sources: `.keras` archives, legacy HDF5, KerasHub presets.

Do not import this module directly; use `import warm_start_hooks` instead.

Every Keras save format is read through the interface of `CheckpointSource`,
so renames, rules, vocabulary remaps, the report and `warm-start inspect`
treat it like any checkpoint:

  * `.keras` archives (`model.save('x.keras')`, `ModelCheckpoint`; Keras 3
    and tf.keras / tf_keras 2.13+): a zip holding `model.weights.h5`, laid out
    as `save_weights('x.weights.h5')` lays it out (`layers/dense/vars/0`).
  * Legacy HDF5 (`model.save('x.h5')`, `save_weights('x.h5')` of tf.keras,
    tf_keras, and Keras 3's legacy writer): each top-level layer's weights
    under the layer's name. A variable is found by the name it was saved
    with (`dense/kernel`; Keras 3 writes `variable.path`), or as
    `<layer name>/<position>` (`dense/0`), which a model of the same
    structure matches by itself: layers are matched by name, as Keras'
    `load_weights(by_name=True)` does.
  * A KerasHub preset directory (`save_to_preset`): its `model.weights.h5`
    holds the backbone, in the `.weights.h5` layout.

h5py comes with Keras and is imported only when such a file is opened.
"""

from __future__ import annotations

import importlib
import inspect
import os
import shutil
import sys
import tempfile
import zipfile
from typing import Any

import tensorflow as tf

from warm_start_hooks import _errors
from warm_start_hooks import _h5

ARCHIVE_SUFFIX = '.keras'
LEGACY_SUFFIXES = ('.h5', '.hdf5')
WEIGHTS_MEMBER = 'model.weights.h5'  # In a .keras archive, and in a KerasHub preset.
_LEGACY_ROOT = 'model_weights'  # Where model.save('x.h5') puts the weights.


def open_keras_file(path: Any) -> _h5.H5Source | None:
    """The source for a Keras file or preset at `path`; None if `path` is not one.

    Checkpoints and SavedModels are left to `CheckpointSource`.

    Raises:
      CheckpointNotFoundError, CorruptCheckpointError: as `H5Source` does.
    """
    if not isinstance(path, (str, os.PathLike)):
        return None
    path = os.fspath(path)
    if not path:
        return None
    if _h5.is_h5_path(path):
        return KerasWeightsSource(path)
    if path.endswith(ARCHIVE_SUFFIX):
        return KerasArchiveSource(path)
    if path.endswith(LEGACY_SUFFIXES):
        if tf.io.gfile.exists(path) and not _is_legacy(path):
            return KerasWeightsSource(path)  # A .weights.h5 layout under another name.
        return LegacyH5Source(path)
    weights = _join(path, WEIGHTS_MEMBER)
    if (
        tf.io.gfile.isdir(path)
        and tf.io.gfile.exists(weights)
        and not tf.io.gfile.exists(_join(path, 'checkpoint'))
    ):
        source = KerasWeightsSource(weights)
        source.requested = path
        return source
    return None


def _join(directory: str, name: str) -> str:
    return (
        f'{directory.rstrip("/")}/{name}' if '://' in directory else os.path.join(directory, name)
    )


def _is_legacy(path: str) -> bool:
    """Whether an HDF5 file is in the legacy layout (layer names at its root)."""
    h5py = _h5._h5py()  # pylint: disable=protected-access
    try:
        with tf.io.gfile.GFile(path, 'rb') as f, h5py.File(f, 'r') as h5:
            return _LEGACY_ROOT in h5 or 'layer_names' in h5.attrs
    except (OSError, ValueError, tf.errors.OpError):
        return True  # Not readable: LegacyH5Source reports it.


class KerasWeightsSource(_h5.H5Source):
    """A file in the `.weights.h5` layout, matched to Keras 3 and Keras 2 models alike."""

    def layout(self, root: Any) -> dict[int, list[str]]:
        """id(variable) -> the key Keras' own saving code gives it, for either Keras."""
        return layout(root)


class KerasArchiveSource(KerasWeightsSource):
    """A `.keras` archive: its `model.weights.h5`, copied out once to a temporary file.

    Example:
      >>> src = KerasArchiveSource('/tmp/model.keras')
      >>> src.key_for('head/0')
      'layers/dense_1/vars/0'
    """

    def _open_file(self, h5py: Any) -> Any:
        try:
            with tf.io.gfile.GFile(self.prefix, 'rb') as f, zipfile.ZipFile(f) as archive:
                if WEIGHTS_MEMBER not in archive.namelist():
                    raise OSError(
                        f'the archive has no {WEIGHTS_MEMBER} (it holds '
                        f'{sorted(archive.namelist())[:5]})'
                    )
                # A temporary file, not memory: HDF5 seeks, and the weights may be large.
                self._copy = tempfile.TemporaryFile()
                with archive.open(WEIGHTS_MEMBER) as member:
                    shutil.copyfileobj(member, self._copy, 16 << 20)
        except (zipfile.BadZipFile, tf.errors.OpError) as e:
            raise OSError(f'not a zip archive ({_errors.first_line(e)})') from None
        self._copy.seek(0)
        return h5py.File(self._copy, 'r')


class LegacyH5Source(_h5.H5Source):
    """A legacy Keras HDF5 file: `model.save('x.h5')` or `save_weights('x.h5')`.

    Keys are the datasets' paths in the file; each tensor is also found by
    its saved weight name without `:0` (when no other layer saved the same
    name) and as `<layer name>/<position>`.

    Example:
      >>> src = LegacyH5Source('/tmp/model.h5')
      >>> src.key_for('dense/kernel'), src.key_for('dense/0')
      ('model_weights/dense/dense/kernel:0', 'model_weights/dense/dense/kernel:0')
    """

    def _index(self, name: str, obj: Any) -> None:
        if not hasattr(obj, 'shape'):
            return
        root = _LEGACY_ROOT if _LEGACY_ROOT in self._file else ''
        if root and not name.startswith(root + '/'):
            return  # e.g. optimizer_weights/: not model weights.
        layer, _, weight = name[len(root) + 1 if root else 0 :].partition('/')
        names = [_text(n) for n in self._file[_join_key(root, layer)].attrs.get('weight_names', [])]
        if weight not in names:
            return
        super()._index(name, obj)
        # Two layers may save one weight name: `keys_for` then finds both, `key_for` neither.
        saved = weight[:-2] if weight.endswith(':0') else weight
        for alias in (f'{layer}/{names.index(weight)}', saved):
            found = self._by_name.setdefault(alias, [])
            if name not in found:
                found.append(name)

    def layout(self, root: Any) -> dict[int, list[str]]:
        """id(variable) -> `<layer name>/<position>` as the legacy writer orders weights."""
        return legacy_layout(root)


def _join_key(root: str, name: str) -> str:
    return f'{root}/{name}' if root else name


def _text(value: Any) -> str:
    return value.decode('utf-8') if isinstance(value, bytes) else str(value)


def legacy_layout(model: Any) -> dict[int, list[str]]:
    """id(variable) -> `<layer name>/<position>`: top-level layers, trainable weights first."""
    out: dict[int, list[str]] = {}
    for layer in getattr(model, 'layers', ()):
        weights = list(layer.trainable_weights) + list(layer.non_trainable_weights)
        for i, w in enumerate(weights):
            out.setdefault(id(w), []).append(f'{layer.name}/{i}')
    return out


def layout(model: Any) -> dict[int, list[str]]:
    """id(variable) -> its `.weights.h5` key, by the saving code of the model's own Keras.

    Keras 3 models are walked by `keras`'s saving code, Keras 2 models by that
    of `tf_keras` or of TensorFlow 2.15's `keras`. Anything else, or a saving
    code that differs, gives an empty mapping (then only names match).
    """
    package = _keras_package(model)
    if package is None:
        return {}
    if package == 'keras' and sys.modules['keras'].__version__.startswith('3.'):
        return _h5.keras_layout(model)
    try:
        saving_lib = importlib.import_module(f'{package}.src.saving.saving_lib')
        base_layer = importlib.import_module(f'{package}.src.engine.base_layer')
    except ImportError:
        return {}
    recorder = _Keras2Recorder(base_layer.Layer.save_own_variables)
    params = inspect.signature(saving_lib._save_state).parameters  # pylint: disable=protected-access
    visited = 'visited_trackables' if 'visited_trackables' in params else 'visited_saveables'
    try:
        saving_lib._save_state(  # pylint: disable=protected-access
            model, weights_store=recorder, assets_store=None, inner_path='', **{visited: set()}
        )
    except Exception:  # pylint: disable=broad-except
        return {}
    return recorder.found


def _keras_package(model: Any) -> str | None:
    """'keras' or 'tf_keras': the Keras whose `Layer` `model` is (subclasses from any package)."""
    for package in ('keras', 'tf_keras'):
        module = sys.modules.get(package)
        layers = getattr(module, 'layers', None)
        if layers is not None and isinstance(model, getattr(layers, 'Layer', ())):
            return package
    return None


class _Keras2Recorder(_h5.RecordingStore):
    """Keras 2 stores `variable.numpy()`: the variable is found in the saving layer.

    Keras 2's `Layer.save_own_variables` writes its own weights, trainable
    first, by position. The layer is the caller's `self`; a layer that saves
    its state its own way is left out (its variables are then matched by name).
    """

    def __init__(self, default_save: Any):
        super().__init__()
        self._default_save = default_save

    def __setitem__(self, key: str, value: Any) -> None:
        owner = sys._getframe(1).f_locals.get('self')  # pylint: disable=protected-access
        default = getattr(type(owner), 'save_own_variables', None) is self._default_save
        if owner is None or not default:
            return
        weights = list(owner._trainable_weights) + list(owner._non_trainable_weights)  # pylint: disable=protected-access
        variable = weights[int(key)]
        if tuple(variable.shape) == tuple(getattr(value, 'shape', ())):
            super().__setitem__(key, variable)
