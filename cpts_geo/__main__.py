import sys

from cpts_geo.commands.main import main

sys.exit(main())
