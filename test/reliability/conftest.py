"""Reliability suite configuration: reuses the integration fixtures (Pebble, acmectl, httpd) and prints the figures line at the end of the run."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

import figures  # noqa: E402

pytest_plugins = ["fixtures.ca", "fixtures.httpd", "fixtures.stepca"]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The one line of figures (also written to $ACME_RELIABILITY_FIGURES when set)."""
    line = figures.summary()
    terminalreporter.write_sep("=", "reliability figures")
    terminalreporter.write_line(line)
    out = os.environ.get("ACME_RELIABILITY_FIGURES")
    if out:
        figures.save(out)
