"""Tests of the version (`warm_start_hooks._version`), pyproject.toml and CHANGELOG.md."""

import os
import re

from absl.testing import absltest

import warm_start_hooks
from warm_start_hooks import _version

try:
    import tomllib  # Python 3.11 and later.
except ImportError:  # pragma: no cover
    tomllib = None

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# PEP 440 versions as this project writes them: X.Y.Z, optionally .devN.
_VERSION = re.compile(r'^\d+\.\d+\.\d+(\.dev\d+)?$')


def _read(name):
    with open(os.path.join(_REPO, name), encoding='utf-8') as f:
        return f.read()


class VersionTest(absltest.TestCase):
    def test_package_version_is_the_one_in_version_py(self):
        self.assertEqual(warm_start_hooks.__version__, _version.__version__)
        self.assertRegex(_version.__version__, _VERSION)

    def test_pyproject_reads_version_py(self):
        if tomllib is None:
            self.skipTest('tomllib needs Python 3.11 or later')
        project = tomllib.loads(_read('pyproject.toml'))
        self.assertNotIn('version', project['project'])
        self.assertIn('version', project['project']['dynamic'])
        self.assertEqual(
            project['tool']['setuptools']['dynamic']['version'],
            {'attr': 'warm_start_hooks._version.__version__'},
        )

    def test_changelog_starts_with_this_version(self):
        sections = re.findall(r'^## (.+)$', _read('CHANGELOG.md'), re.MULTILINE)
        self.assertNotEmpty(sections)
        version = _version.__version__
        if '.dev' not in version:  # A release: its own section comes first.
            self.assertRegex(sections[0], rf'^\[{re.escape(version)}\] - ')
            return
        # Unreleased work comes first, then the last release, older than this version.
        self.assertEqual(sections[0], 'Unreleased')
        last = re.match(r'^\[(\d+\.\d+\.\d+)\] - ', sections[1])
        self.assertIsNotNone(last, f'not a release heading: {sections[1]!r}')
        self.assertLess(_key(last.group(1)), _key(version.split('.dev')[0]))

    def test_every_release_heading_is_well_formed(self):
        sections = re.findall(r'^## (.+)$', _read('CHANGELOG.md'), re.MULTILINE)
        releases = [s for s in sections if s != 'Unreleased']
        for heading in releases:
            self.assertRegex(heading, r'^\[\d+\.\d+\.\d+\] - \d{4}-\d\d-\d\d$')
        versions = [_key(re.match(r'^\[([\d.]+)\]', h).group(1)) for h in releases]
        self.assertEqual(versions, sorted(versions, reverse=True))


def _key(version):
    return tuple(int(p) for p in version.split('.'))


if __name__ == '__main__':
    absltest.main()
