"""``python -m bot`` is ``inquiry-bot``."""

from bot.cli import main

raise SystemExit(main())
