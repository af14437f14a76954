import sys

from fuselint.cli import main

sys.exit(main())
