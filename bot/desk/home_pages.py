"""App Home pages: a member's page of the queue, its filters and paging, and their preferences.

The Home is published (``views.publish`` through a :class:`HomePublisher`) on open, after every
filter or page click, after a claim/release clicked on the Home, and after the Preferences
modal is saved. The member's filter and page live in the store (``Store.home_state``), so a
refresh after a claim keeps them where they were; their preferences too (``Store.member_prefs``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time
from typing import Any, Protocol

from bot.blocks.home import ACTION_PAGE_NEXT, ACTION_PAGE_PREV, FILTER_ACTIONS, home_view, prefs_modal
from bot.blocks.home_queue import HomeFilter
from bot.core.errors import ChatError
from bot.core.prefs import MemberPrefs
from bot.desk.open_reads import home_page
from bot.desk.ports import Store
from bot.sla.engine import SlaPolicy

log = logging.getLogger(__name__)


class HomePublisher(Protocol):
    def publish_home(self, user: str, view: dict[str, Any]) -> None: ...


class HomePages:
    def __init__(
        self,
        store: Store,
        policy: SlaPolicy,
        clock: Callable[[], datetime],
        lang: str,
        publisher: HomePublisher,
        *,
        digest_time: time = time(9, 0),
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.lang = lang
        self.publisher = publisher
        self.digest_time = digest_time  # the team's default (DIGEST_TIME)

    def lang_of(self, user: str) -> str:
        return self.store.member_prefs(user).lang_or(self.lang)

    def view(self, user: str) -> dict[str, Any]:
        now = self.clock()
        prefs = self.store.member_prefs(user)
        flt = HomeFilter.from_doc(self.store.home_state(user))
        page = home_page(self.store, now, self.policy, user, flt)  # the rows shown, by query
        return home_view(
            user,
            page,
            now,
            prefs.lang_or(self.lang),
            prefs=prefs,
            default_digest_time=self.digest_time,
            default_lang=self.lang,
        )

    def publish(self, user: str) -> None:
        try:
            self.publisher.publish_home(user, self.view(user))
        except ChatError as e:
            log.error("could not publish the App Home of %s: %s", user, e)
        except Exception:
            log.exception("could not build the App Home of %s", user)

    def change(self, user: str, action: dict[str, Any]) -> None:
        """Apply one filter or paging click to the member's stored Home state, then publish."""
        flt = HomeFilter.from_doc(self.store.home_state(user))
        action_id = str(action.get("action_id", ""))
        if action_id in FILTER_ACTIONS:
            value = str((action.get("selected_option") or {}).get("value", ""))
            flt = flt.with_choice(FILTER_ACTIONS[action_id], value)
        elif action_id in (ACTION_PAGE_PREV, ACTION_PAGE_NEXT):
            value = str(action.get("value", ""))
            if value.isdigit():
                flt = replace(flt, page=int(value))
        self.store.set_home_state(user, flt.to_doc())
        self.publish(user)

    def prefs_view(self, user: str) -> dict[str, Any]:
        prefs = self.store.member_prefs(user)
        return prefs_modal(prefs, self.digest_time, self.lang, prefs.lang_or(self.lang))

    def save_prefs(self, user: str, prefs: MemberPrefs) -> None:
        """Store the member's choices; a choice equal to the team's default is stored as "the
        team's default", so a later change of ``DIGEST_TIME`` or ``TEAM_LANGUAGE`` reaches them."""
        prefs = replace(
            prefs,
            digest_time=None if prefs.digest_time == self.digest_time else prefs.digest_time,
            lang=None if prefs.lang == self.lang else prefs.lang,
        )
        self.store.set_member_prefs(user, prefs)
        log.info("preferences saved for %s", user)
        self.publish(user)
