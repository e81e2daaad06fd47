"""Allow `python -m fieldagent`."""

from fieldagent.cli import main

raise SystemExit(main())
