import sys

from genocompile.cli.main import main

sys.exit(main())
