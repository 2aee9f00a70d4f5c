"""``python -m warmkeeper_cli``: the same as the ``warmkeeper`` console script."""

from warmkeeper_cli.main import run

if __name__ == "__main__":
    raise SystemExit(run())
