"""Collection rules for the whole repository (doctests included)."""

import importlib.util

# Optional extras: a module's doctests run only where its extra is installed.
collect_ignore = [] if importlib.util.find_spec("torch") else ["src/initlab/torch"]
if importlib.util.find_spec("fastapi") is None:  # initlab[web]
    collect_ignore.append("src/initlab/web/app.py")
