"""`python -m warm_start_hooks`: the `warm-start` command line.

Do not import this module directly; use `import warm_start_hooks` instead.
"""

from warm_start_hooks import _cli

if __name__ == '__main__':
    _cli.run()
