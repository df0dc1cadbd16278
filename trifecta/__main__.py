import sys

from trifecta.cli import main

sys.exit(main())
