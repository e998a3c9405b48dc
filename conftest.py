"""Collection rules for the whole repository (doctests included)."""

import importlib.util

# initlab.torch needs the optional `torch` extra; its doctests run only where torch is.
collect_ignore = [] if importlib.util.find_spec("torch") else ["src/initlab/torch.py"]
