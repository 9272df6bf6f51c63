"""``python -m linlens_widgets.cli``: the ``linlens`` command without its console script."""

import sys

from linlens_widgets.cli import main

sys.exit(main())
