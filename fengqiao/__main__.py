"""`python -m fengqiao` is the `fengqiao` program."""

from fengqiao.main import main

raise SystemExit(main())
