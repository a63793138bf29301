"""``python -m s2s``: the command line (see ``s2s.cli``)."""
from .cli import main

raise SystemExit(main())
