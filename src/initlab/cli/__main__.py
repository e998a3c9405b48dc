"""``python -m initlab.cli``: the same as the ``initlab`` command."""

from initlab.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
