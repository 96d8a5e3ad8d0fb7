"""The version of warm_start_hooks, in one place.

Do not import this module directly; use `warm_start_hooks.__version__`.

pyproject.toml reads this file (`[tool.setuptools.dynamic]`), so an installed
distribution and a Bazel build, which has no installed metadata, report the
same version. A `.devN` suffix marks unreleased work: CHANGELOG.md then starts
with an "Unreleased" section.
"""

__version__ = '0.2.0.dev0'
