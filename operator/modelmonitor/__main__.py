import sys

from modelmonitor.cli import main

sys.exit(main())
