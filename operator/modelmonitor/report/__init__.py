"""HTML reports and the web view's pages, from results documents and monitor summaries.

Pure rendering: no statistics, no Kubernetes, no data reading.  Every string from a
user goes through ``markup.escape``.
"""

from modelmonitor.report.run import render_report

__all__ = ["render_report"]
