"""Shared fixtures live in their own modules, loaded here as plugins."""

pytest_plugins = [
    "tests.fixtures_dovecot",
    "tests.fakes.slack_server",
    "tests.fakes.llm_server",
    "tests.fakes.smtp_server",
]
