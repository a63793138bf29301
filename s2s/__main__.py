"""``python -m s2s``: the command line (see ``s2s.convert.cli``)."""
from s2s.convert.cli import main

raise SystemExit(main())
