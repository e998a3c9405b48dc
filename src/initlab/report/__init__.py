"""One self-contained HTML report of a result store: tables and figures, viewable offline.

The report reads a :class:`~initlab.experiments.store.ResultStore` and never trains: every
number comes from the stored runs or from :func:`initlab.experiments.stats.summarize` over
them. Its sections, each written only when the sweep's data supports it (a short note says
why otherwise):

1. the sweep: runs, configurations, seeds, datasets, what varies and what is fixed, the
   initlab versions and engines that produced the runs, the compute time;
2. one row per configuration: fraction of seeds trained, final loss and train/test accuracy
   as mean ± the 95 % confidence half-width; sortable (click a heading) and filterable
   (words such as ``random depth=4`` and comparisons such as ``test>0.9``);
3. accuracy against the initializer's scale argument, with 95 % bands, one line per scheme;
4. the phase diagram: mean final loss over depth (or width) × scale, per scheme;
5. cost curves (mean over seeds, min–max band) and
6. decision boundaries (first seed, from the stored parameters) of the configurations the
   reader ticks in the table (at first :data:`~initlab.report.data.MAX_CONFIGS`, evenly
   spread), drawn by the page from data embedded for every configuration;
7. the most common diagnostic findings per configuration.

Still one offline file: the figures are PNGs embedded as ``data:`` URIs, and the style, the
script (``report.css``, ``report.js``) and the explorer's data (a JSON element, see
:mod:`~initlab.report.explore`) are inline; the page makes no request. :func:`write_report`
writes it atomically (:func:`initlab._io.write_atomic`: a temporary file, then
:func:`os.replace`), so a reader never sees half a report. A thousand configurations make a
file of about 5 MB that Chromium opens in about a second.

The package has one module per job: :mod:`~initlab.report.data` (what is read from the store
and summarised), :mod:`~initlab.report.figures` (the matplotlib drawing, imported only when a
figure is drawn), :mod:`~initlab.report.explore` (the curves and boundaries the page draws)
and :mod:`~initlab.report.html` (the page and the file).

>>> import tempfile, os
>>> from initlab.experiments.store import ResultStore
>>> empty = ResultStore(os.path.join(tempfile.mkdtemp(), "runs.db"))
>>> build_report(empty)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: The store ... has no runs, so there is nothing to report. ...
"""

from initlab.report.data import run_config
from initlab.report.html import build_report, write_report

_run_config = run_config  # the name tests knew when the report was one module

__all__ = ["build_report", "write_report"]
