"""`python -m lazarus.hook script.py [args]`: run a script with the remedy hook installed.

The hook lives in lazarus.integrations.hook; this module keeps the documented command working.
"""

import sys

from lazarus.integrations.hook import install, run_script

__all__ = ["install", "run_script"]

if __name__ == "__main__":
    sys.exit(run_script(sys.argv[1:]))
