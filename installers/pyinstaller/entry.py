"""The bundle's program: `origin-desk` (the same entry point as the package's script)."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
