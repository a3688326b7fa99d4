"""The `fengqiao` program as the end-to-end and fault tests start it: a child process of this
interpreter (`python -m fengqiao`), so it is the code under test whatever script is installed."""

from __future__ import annotations

import sys

FENGQIAO: tuple[str, ...] = (sys.executable, "-m", "fengqiao")
