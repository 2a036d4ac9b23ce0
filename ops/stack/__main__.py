"""``python -m ops.stack``: the stack test (see :mod:`ops.stack`)."""

import sys

from ops.stack.run import main

sys.exit(main())
