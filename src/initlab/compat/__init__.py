"""Compatibility with the course's own code.

:mod:`initlab.compat.init_utils` is a drop-in replacement for the course notebook's helper
module ``init_utils``: ``from initlab.compat.init_utils import ...`` in place of
``from init_utils import ...`` and the notebook runs unchanged, printing the same numbers.
"""
