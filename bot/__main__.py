"""``python -m bot`` is ``inquiry-bot``."""

from bot.app.cli.main import main

raise SystemExit(main())
