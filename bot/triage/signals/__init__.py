"""Risk detectors, one module per kind of evidence. Each exposes pure functions returning
``RiskSignal`` lists; :mod:`bot.triage.risk` runs them all and combines the result."""
