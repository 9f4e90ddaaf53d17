"""pytest configuration for the integration suites.

The helpers and the `trellis` fixture live in trellis_testlib.py so that any
suite can reuse them. A suite in another directory gets the same by putting
this in its own conftest.py:

    import os, sys
    sys.path.insert(0, os.path.join(os.environ["TRELLIS_SOURCE_DIR"], "tests", "integration"))
    from trellis_testlib import trellis  # noqa: F401  (the fixture)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from trellis_testlib import trellis  # noqa: E402,F401  (registers the fixture)
