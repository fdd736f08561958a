"""``python -m spherecodes.train <experiment> ...`` (see :mod:`spherecodes.train.cli`)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
