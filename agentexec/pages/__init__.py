"""HTML pages of runs and batches: one self-contained file each, readable from disk or a CI artifact.

``write_run_page(log, out)`` renders an event log (or an imported OpenHands, mini-swe-agent or
SWE-agent trajectory); ``write_batch_report(summary, out)`` renders a batch's ``summary.json``
with a page per task. Templates are package data rendered by Jinja2 with autoescaping, so text
from a run is always text.
"""

from agentexec.pages.batch_report import write_batch_report
from agentexec.pages.run_page import RunCounts, default_page_path, write_run_page

__all__ = ["RunCounts", "default_page_path", "write_batch_report", "write_run_page"]
