"""``retail-assets dashboard``: the store and merchandising managers' dashboard over the serving DuckDB file.

A Plotly Dash app (``app.py``) with a real-time page of the reference's ten tiles (``realtime.py``), report
pages per perspective (``reports.py``), an alerts page and a data-health page (``health.py``). Every page
reads the serving file through ``lib/serving.py``'s reader protocol (``reader.py``): one short read-only
session per render, closed before the page is sent, so the dashboard never holds the file between requests
and never blocks the pipeline's writers. Why Dash, and what each page shows: ``docs/dashboard.md``.

This module stays free of imports: the CLI reads its constants while building every command's parser.
"""

DEFAULT_REFRESH_SECONDS = 15
MAX_REFRESH_SECONDS = 30  # the reference dashboard refreshes every 30 s; never slower than that
