import sys

from modelmonitor.cli import main

if __name__ == "__main__":  # not when a check process (spawned) imports this module as its parent's main
    sys.exit(main())
