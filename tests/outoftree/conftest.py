"""Reuses the integration helpers and the `trellis` fixture."""
import os
import sys

sys.path.insert(0, os.path.join(os.environ["TRELLIS_SOURCE_DIR"], "tests", "integration"))

from trellis_testlib import trellis  # noqa: E402,F401  (registers the fixture)
