import sys

from wekawbc.cli import main

sys.exit(main())
