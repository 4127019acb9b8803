"""AI reply drafting in the buyer's language.

- ``service``: ``Drafter.draft(DraftRequest) -> Draft`` (LLM or offline template), ``request_from_inquiry``
- ``prompts``: prompt files under ``prompts/``, strict ``render``, ``choose_scenario``
- ``llm``: the ``LlmClient`` port (the ``openai`` adapter is ``bot.adapters.llm_openai``)
- ``guards``: untrusted-text cleaning, injection heuristics, the draft fact checker
- ``errors``: ``DraftingError`` and its subclasses
"""
