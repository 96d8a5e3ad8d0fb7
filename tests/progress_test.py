"""Tests of `warm_start_hooks._progress`: when progress lines are logged."""

from absl.testing import absltest
from absl.testing import parameterized

from warm_start_hooks import _progress


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _make(total, **kwargs):
    clock, lines = _Clock(), []
    p = _progress.Progress(
        total, 'Remap of emb', clock=clock, log=lambda fmt, *a: lines.append(fmt % a), **kwargs
    )
    return p, clock, lines


class ProgressTest(parameterized.TestCase):
    def test_fast_work_logs_nothing(self):
        p, clock, lines = _make(100 << 20)
        for _ in range(10):
            clock.now += 0.1
            p.advance(10 << 20)
        self.assertEqual(p.done, 100 << 20)
        self.assertEmpty(lines)

    def test_slow_work_logs_each_tenth_then_done(self):
        p, clock, lines = _make(1000)
        for _ in range(20):
            clock.now += 3.0
            p.advance(50)
        # A line every other step (each new tenth), and the last one at 100%.
        self.assertLen(lines, 10)
        self.assertEqual(lines[0], 'Remap of emb: 10% (100 B of 1000 B, 6.0s)')
        self.assertEqual(lines[-1], 'Remap of emb: 100% (1000 B of 1000 B, 60.0s)')

    def test_lines_at_most_every_min_interval(self):
        p, clock, lines = _make(1000, min_interval_s=2.0)
        for _ in range(20):
            clock.now += 0.5
            p.advance(50)
        # A new tenth every second, but a line only every 2 s (t=2, 4, 6, 8), then 100%.
        self.assertLen(lines, 5)
        self.assertEqual(lines[0], 'Remap of emb: 20% (200 B of 1000 B, 2.0s)')

    def test_slow_tenth_logs_after_max_interval(self):
        p, clock, lines = _make(1000, max_interval_s=30.0)
        clock.now += 31.0
        p.advance(1)
        self.assertEqual(lines, ['Remap of emb: 0% (1 B of 1000 B, 31.0s)'])
        clock.now += 5.0
        p.advance(1)
        self.assertLen(lines, 1)

    def test_done_is_capped_and_logged_once(self):
        p, clock, lines = _make(100)
        clock.now += 3.0
        p.advance(50)
        p.advance(500)
        p.advance(500)
        self.assertEqual(p.done, 100)
        self.assertEqual(lines[-1], 'Remap of emb: 100% (100 B of 100 B, 3.0s)')
        self.assertLen(lines, 2)

    def test_zero_total(self):
        p, clock, lines = _make(0)
        clock.now += 5.0
        p.advance(0)
        self.assertEmpty(lines)

    @parameterized.named_parameters(
        ('bytes', 512, '512 B'),
        ('kib', 1536, '1.5 KiB'),
        ('mib', 3 << 20, '3.0 MiB'),
        ('gib', 5 << 30, '5.0 GiB'),
        ('tib', 2048 << 30, '2048.0 GiB'),
    )
    def test_human_bytes(self, n, text):
        self.assertEqual(_progress.human_bytes(n), text)


if __name__ == '__main__':
    absltest.main()
