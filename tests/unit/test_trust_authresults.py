"""Authentication-Results: all instances from raw bytes, and only our own server's verdict counts."""

from __future__ import annotations

from bot.trust.authresults import authentication_results, dmarc_failure, trusted_verdict

OURS_FAIL = (
    "mx.brightway-led.com; spf=fail smtp.mailfrom=evil.example; dkim=none; dmarc=fail header.from=acme.de"
)
OURS_PASS = "mx.brightway-led.com; spf=pass smtp.mailfrom=acme.de; dkim=pass header.d=acme.de; dmarc=pass"
FORGED_PASS = "mx.brightway-led.com; spf=pass smtp.mailfrom=acme.de; dkim=pass header.d=acme.de; dmarc=pass"


def test_all_instances_come_back_in_order_and_unfolded() -> None:
    raw = (
        b"Authentication-Results: top.example;\r\n\tdmarc=fail header.from=a.com\r\n"
        b"Received: from x\r\n"
        b"Authentication-Results: lower.example; dmarc=pass\r\n"
        b"From: a@a.com\r\nSubject: hi\r\n\r\nbody\r\n"
    )
    assert authentication_results(raw) == [
        "top.example; dmarc=fail header.from=a.com",
        "lower.example; dmarc=pass",
    ]


def test_broken_or_missing_headers_give_an_empty_list() -> None:
    assert authentication_results(b"From: a@a.com\r\n\r\nno auth results") == []
    assert authentication_results(b"\xff\xfe\x00garbage") == []


def test_dmarc_fail_in_our_header_is_reported() -> None:
    reason = dmarc_failure([OURS_FAIL])
    assert reason is not None and "DMARC fail" in reason and "acme.de" in reason


def test_forged_lower_pass_does_not_hide_a_top_fail() -> None:
    assert dmarc_failure([OURS_FAIL, "attacker.example; dmarc=pass header.from=acme.de"]) is not None


def test_forged_top_header_is_ignored_when_authserv_id_names_ours() -> None:
    forged_top = "mx.brightway-led.example; dmarc=fail header.from=acme.de"
    assert dmarc_failure([forged_top, OURS_PASS], authserv_id="mx.brightway-led.com") is None
    assert dmarc_failure(
        [FORGED_PASS.replace("mx.brightway-led.com", "fake.example"), OURS_FAIL], "MX.brightway-led.com"
    )


def test_spf_and_dkim_both_failing_without_dmarc_is_a_failure() -> None:
    reason = dmarc_failure(["mx.example; spf=softfail smtp.mailfrom=a.com; dkim=fail header.d=a.com"])
    assert reason is not None and "SPF softfail" in reason and "DKIM fail" in reason


def test_one_of_spf_or_dkim_passing_is_fine() -> None:
    assert dmarc_failure(["mx.example; spf=fail smtp.mailfrom=a.com; dkim=pass header.d=a.com"]) is None
    assert dmarc_failure(["mx.example; spf=pass smtp.mailfrom=a.com; dkim=none"]) is None
    assert dmarc_failure([OURS_PASS]) is None


def test_no_header_from_our_server_means_no_verdict() -> None:
    assert trusted_verdict(["other.example; dmarc=fail"], authserv_id="mx.brightway-led.com") is None
    assert dmarc_failure([], None) is None
    assert dmarc_failure(["not a valid ;;; header ="]) is None
