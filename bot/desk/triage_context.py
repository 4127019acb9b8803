"""Bridges the configuration to the pure triage and the trust checks.

``Trust`` is built once per process: it loads the screening lists (``SCREENING_LISTS``)
and remembers which buyer domains and bank ids the store has seen, so a look-alike of a
known buyer or a changed IBAN raises a warning on the card.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from bot.config.settings import Config
from bot.core.models import ParsedEmail, Triage, Warning
from bot.triage import TriageConfig
from bot.triage.lanes import Thresholds
from bot.trust import Screener, TrustContext, compute_warnings, extract_bank_ids, load_list
from bot.trust.screening import ScreeningError

log = logging.getLogger(__name__)


def triage_config(config: Config) -> TriageConfig:
    """The triage settings of ``config``, with the team's products from ``PROMPTS_DIR``'s profile
    (raises :class:`~bot.triage.profile.ProfileError`, a ConfigError, when that profile is unusable)."""
    from bot.drafting.prompts import PROMPTS_DIR
    from bot.triage.profile import load_profile

    return TriageConfig(
        own_domains=config.own_domains,
        sla_hours=dict(config.sla_hours),
        market_overrides=dict(config.market_overrides),
        own_addresses=own_addresses(config),
        authserv_id=config.authserv_id,
        thresholds=Thresholds(review_at=config.review_at, filter_at=config.filter_at),
        profile=load_profile(PROMPTS_DIR),
    )


def own_addresses(config: Config) -> frozenset[str]:
    """The mailbox's own addresses: the IMAP login and the SMTP sender, when they are addresses."""
    found = set()
    for value in (config.imap.user if config.imap else "", config.smtp.from_addr if config.smtp else ""):
        value = (value or "").strip().lower()
        if "@" in value:
            found.add(value)
    return frozenset(found)


def load_screener(config: Config) -> Screener | None:
    """The screening lists as configured; None (screening off) when none is set."""
    lists = []
    for name in config.screening_lists:
        path = Path(name)
        if not path.exists() and not name.startswith(("http://", "https://")):
            log.error("screening list %s does not exist", name)
            continue
        if name.startswith(("http://", "https://")):
            path = config.data_dir / "screening" / Path(name).name
            if not path.exists():
                log.error("screening list %s is not downloaded yet: run `inquiry-bot screening update`", name)
                continue
        try:
            lists.append(load_list(path))
        except (ScreeningError, OSError) as e:
            log.error("could not load screening list %s: %s", path, e)
    return Screener(lists, threshold=config.screening_threshold) if lists else None


def _domain(addr: str) -> str:
    return addr.rsplit("@", 1)[-1].lower() if "@" in addr else ""


class Trust:
    """Computes the trust warnings of one email, knowing what the store has seen."""

    def __init__(self, config: Config, screener: Screener | None = None) -> None:
        self.config = config
        self.screener = screener
        self._lock = threading.Lock()
        self._buyer_domains: set[str] = set()
        self._bank_ids: dict[str, frozenset[str]] = {}

    def learn(self, buyer_addrs: Iterable[str]) -> None:
        self.learn_domains(_domain(addr) for addr in buyer_addrs)

    def learn_domains(self, domains: Iterable[str]) -> None:
        """Known buyer domains (lower case), e.g. the store's :meth:`buyer_domains` at start."""
        from bot.triage.region import is_free_mail

        with self._lock:
            for domain in domains:
                if domain and not is_free_mail(domain) and domain not in self.config.own_domains:
                    self._buyer_domains.add(domain)

    def remember_bank_ids(self, buyer: str, ids: frozenset[str]) -> None:
        if ids:
            with self._lock:
                self._bank_ids[buyer] = self._bank_ids.get(buyer, frozenset()) | ids

    def known_bank_ids(self, buyer: str) -> frozenset[str]:
        with self._lock:
            return self._bank_ids.get(buyer, frozenset())

    def warnings(
        self,
        email: ParsedEmail,
        verdict: Triage,
        auth_results: Sequence[str] = (),
        known_bank_ids: frozenset[str] | None = None,
    ) -> tuple[Warning, ...]:
        with self._lock:
            own = _domain(email.from_addr)
            known = frozenset(d for d in self._buyer_domains if d != own)
        ctx = TrustContext(
            own_domains=self.config.own_domains,
            known_domains=known,
            authserv_id=self.config.authserv_id,
            embargoed_countries=self.config.embargoed_countries,
            known_bank_ids=self.known_bank_ids(email.from_addr) if known_bank_ids is None else known_bank_ids,
            screener=self.screener,
        )
        return compute_warnings(email, verdict, ctx, auth_results=auth_results)

    def bank_ids_of(self, email: ParsedEmail) -> frozenset[str]:
        return extract_bank_ids(f"{email.new_text}\n{email.signature}")


def warnings_for(
    email: ParsedEmail, verdict: Triage, config: Config, raw: bytes = b""
) -> tuple[Warning, ...]:
    """Trust warnings for one file (``inquiry-bot triage``): no store, lists from the config."""
    from bot.trust import authentication_results

    trust = Trust(config, load_screener(config))
    return trust.warnings(email, verdict, authentication_results(raw) if raw else ())
