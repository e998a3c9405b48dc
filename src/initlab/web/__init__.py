"""The playground: initlab live in the browser (``initlab serve``; needs ``initlab[web]``).

:mod:`initlab.web.config` parses and limits what a session trains, :mod:`initlab.web.session`
trains it step by step with initlab's own loop, :mod:`initlab.web.frames` computes what the
page draws, and :mod:`initlab.web.app` serves the page and the JSON API
(``docs/playground-api.md``).
"""
