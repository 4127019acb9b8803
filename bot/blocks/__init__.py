"""Pure Block Kit builders: data in, ``(fallback_text, blocks)`` or a view dict out.

``common`` (escaping, limits, element constructors), ``card`` (the inquiry card, thread notes,
filtered summary), ``home`` (App Home), ``digest`` (digests, stats), ``draft`` (draft reply,
edit modal). No Slack client here; handlers post what these return.
"""
