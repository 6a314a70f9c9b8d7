"""``python -m biometrics``: see :mod:`biometrics.cli`."""

import sys

from .cli import main

sys.exit(main())
