"""Fed. R. Crim. P. 49.1 identifiers: what is found and replaced, and what is left alone."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from collector.disclosure.exhibit.redact import (
    RULES,
    Hit,
    RedactionLog,
    card_network,
    find_identifiers,
    iban_ok,
    luhn_ok,
    redact_fields,
    redact_text,
    redaction_log,
)


def redacted(text: str, explicit: tuple[str, ...] = ()) -> str:
    return redact_text(text, explicit)[0]


# ------------------------------------------------------------------ true positives


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # social-security numbers: dashed, spaced, and bare only when labelled
        ("His SSN is 123-45-6789, call me", "His SSN is [REDACTED SSN xxx-xx-6789], call me"),
        ("ssn: 123 45 6789", "ssn: [REDACTED SSN xxx-xx-6789]"),
        ("number 219-09-9999 on the form", "number [REDACTED SSN xxx-xx-9999] on the form"),
        ("SSN 123456789", "SSN [REDACTED SSN xxx-xx-6789]"),
        (
            "social security number: 078051120.",
            "social security number: [REDACTED SSN xxx-xx-1120].",
        ),
        ("SS# 665-12-3456", "SS# [REDACTED SSN xxx-xx-3456]"),
        # taxpayer-identification numbers
        ("ITIN 912-70-1234", "ITIN [REDACTED TIN xxx-xx-1234]"),
        ("EIN: 12-3456789", "EIN: [REDACTED TIN xx-xxx6789]"),
        # card numbers that pass Luhn, with a network's prefix and length
        ("card 4111 1111 1111 1111 exp 09/29", "card [REDACTED CARD xxxx1111] exp 09/29"),
        ("pay to 5500-0000-0000-0004 now", "pay to [REDACTED CARD xxxx0004] now"),
        ("amex 378282246310005", "amex [REDACTED CARD xxxx0005]"),
        ("amex 3782 822463 10005", "amex [REDACTED CARD xxxx0005]"),
        ("Discover 6011111111111117.", "Discover [REDACTED CARD xxxx1117]."),
        ("visa:4012888888881881", "visa:[REDACTED CARD xxxx1881]"),
        # IBANs with a valid mod-97 check
        ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [REDACTED IBAN xxxx3000] please"),
        ("send to GB82WEST12345698765432", "send to [REDACTED IBAN xxxx5432]"),
        ("IBAN DE89370400440532013000 THEN CALL", "IBAN [REDACTED IBAN xxxx3000] THEN CALL"),
        # numbers labelled as accounts
        ("account number 000123456789", "account number [REDACTED ACCOUNT xxxx6789]"),
        ("Acct #: 9876-5432-10", "Acct #: [REDACTED ACCOUNT xxxx3210]"),
        ("wire it to acct. 55512345 today", "wire it to acct. [REDACTED ACCOUNT xxxx2345] today"),
        ("a/c no. 12345678", "a/c no. [REDACTED ACCOUNT xxxx5678]"),
        # birth dates in several forms, the year kept
        ("DOB: 05/17/1990", "DOB: [REDACTED DOB 1990]"),
        ("D.O.B. 1990-05-17", "D.O.B. [REDACTED DOB 1990]"),
        ("born on May 17, 1990 in Ohio", "born on [REDACTED DOB 1990] in Ohio"),
        ("Born 17th of May 1990.", "Born [REDACTED DOB 1990]."),
        ("date of birth 17.05.1990", "date of birth [REDACTED DOB 1990]"),
        ("her birthday is Sept. 3rd", "her birthday is [REDACTED DOB]"),
        ("bday 5/17/90!", "bday [REDACTED DOB 90]!"),
        ("Birthdate: March 2011", "Birthdate: [REDACTED DOB 2011]"),
        # the declarant's list: case-insensitive, whole words, any white space
        ("Emma Doe, 12, was there", "[REDACTED: listed term], 12, was there"),
        (
            "tagged EMMA\n DOE and emma doe.",
            "tagged [REDACTED: listed term] and [REDACTED: listed term].",
        ),
    ],
)
def test_identifier_is_replaced_keeping_what_rule_49_1_allows(text: str, expected: str) -> None:
    assert redacted(text, ("Emma Doe",)) == expected


def test_each_hit_names_kind_span_replacement_and_rule() -> None:
    text = "SSN 123-45-6789 and card 4111111111111111, DOB 1/2/2003, Emma here"
    hits = find_identifiers(text, ["emma"])
    assert [h.kind for h in hits] == ["ssn", "card", "birth-date", "listed-term"]
    assert [text[h.start : h.end] for h in hits] == [
        "123-45-6789",
        "4111111111111111",
        "1/2/2003",
        "Emma",
    ]
    assert hits[0].span == (4, 15)
    assert hits[0].rule == RULES["ssn"] and "49.1(a)(1)" in hits[0].rule
    assert "49.1(a)(2)" in hits[2].rule and "49.1(a)(4)" in hits[1].rule
    assert hits[2].replacement == "[REDACTED DOB 2003]"


def test_overlapping_findings_are_replaced_once() -> None:
    # a labelled account that is also a card number; a listed term inside nothing else
    text, hits = redact_text("acct 4111 1111 1111 1111", [])
    assert text == "acct [REDACTED CARD xxxx1111]" and [h.kind for h in hits] == ["card"]
    text, hits = redact_text("Emma Doe Smith and Emma", ["Emma", "Emma Doe"])
    assert text == "[REDACTED: listed term] Smith and [REDACTED: listed term]"
    assert len(hits) == 2


# ------------------------------------------------------------------ true negatives


@pytest.mark.parametrize(
    "text",
    [
        # phone numbers
        "Call (555) 123-4567 or 555-123-4567",
        "call +1 555 12 3456 or +49 151 2345 6789",
        "+4111111111111111 is a phone-like string",
        # post ids, in text and in URLs (X and Instagram ids pass Luhn's 1-in-10 now and then)
        "Status ID 109876543210",
        "https://x.com/realDonaldTrump/status/1222907250383245320",
        "post 1222907250383245320 by @realDonaldTrump",
        "https://www.tiktok.com/@user/video/4111111111111111",
        "see x.com/u/status/4111111111111111 for it",
        # time-stamps and plain dates that are not birth dates
        "Posted 2026-11-20T14:03:00Z (edited 11/21/2026)",
        "Born to run. Released 1975-08-25",
        "Happy birthday! Posted 2026-11-20",
        "born in 1990",
        # nine-digit ids that are not SSNs: bad area, group or serial, or no label
        "000-12-3456 666-12-3456 923-45-6789 123-00-4567 123-45-0000",
        "order 123456789 shipped",
        "SSN 000123456",
        "SSN 666123456",
        "ZIP 12345-6789",
        "123-45-67890 is too long, 1123-45-6789 too",
        # numbers failing Luhn, or without a card network's prefix
        "4111 1111 1111 1112",
        "4111111111111112",
        "1234567890123452",
        "9999 9999 9999 9995",
        # IBAN-like strings with a wrong check
        "DE89 3704 0044 0532 0130 01",
        "GB82WEST12345698765433",
        # accounts: too short, or not labelled
        "my account is 4 years old; account 2019",
        "Twitter account @alice_example",
        # listed terms only as whole words
        "Emmanuel Doerr",
    ],
)
def test_not_an_identifier_is_left_alone(text: str) -> None:
    assert find_identifiers(text, ["Emma Doe", "Emma"]) == []
    assert redacted(text, ("Emma Doe", "Emma")) == text


def test_checks_used_by_the_patterns() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert luhn_ok("79927398713")
    assert card_network("4111111111111111") == "Visa"
    assert card_network("378282246310005") == "American Express"
    assert card_network("1222907250383245320") is None  # an X status id
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")


def test_empty_and_blank_listed_terms_are_ignored() -> None:
    assert find_identifiers("a b c", ["", "  ", "\n"]) == []


# ------------------------------------------------------------------ the log


def test_log_records_digest_never_the_string() -> None:
    text = "SSN 123-45-6789; DOB 05/17/1990"
    _, hits = redact_text(text, [])
    log = redaction_log("post.text", text, hits)
    assert [e.kind for e in log] == ["ssn", "birth-date"]
    assert log[0].original_sha256 == hashlib.sha256(b"123-45-6789").hexdigest()
    assert log[0].digest == "sha256"
    assert log[0].replacement == "[REDACTED SSN xxx-xx-6789]" and log[0].field == "post.text"
    assert log[1].rule == RULES["birth-date"]
    dumped = "".join(e.model_dump_json() for e in log)
    assert "123-45-6789" not in dumped and "05/17" not in dumped
    assert set(RedactionLog.model_fields) == {
        "field",
        "kind",
        "original_sha256",
        "digest",
        "replacement",
        "rule",
    }


def test_keyed_log_digest_cannot_be_checked_without_the_key() -> None:
    text = "SSN 123-45-6789"
    _, hits = redact_text(text, [])
    log = redaction_log("title", text, hits, key=b"kept-with-the-original")
    assert log[0].digest == "hmac-sha256"
    assert (
        log[0].original_sha256
        == hmac.new(b"kept-with-the-original", b"123-45-6789", hashlib.sha256).hexdigest()
    )
    assert log[0].original_sha256 != hashlib.sha256(b"123-45-6789").hexdigest()


def test_redact_fields_redacts_each_named_text_and_keeps_the_input() -> None:
    fields = {"post.text": "Emma's SSN 123-45-6789", "post.title": None, "author": "Emma"}
    original = dict(fields)
    out, log = redact_fields(fields, ["Emma"])
    assert fields == original
    assert out == {
        "post.text": "[REDACTED: listed term]'s SSN [REDACTED SSN xxx-xx-6789]",
        "post.title": None,
        "author": "[REDACTED: listed term]",
    }
    assert [(e.field, e.kind) for e in log] == [
        ("post.text", "listed-term"),
        ("post.text", "ssn"),
        ("author", "listed-term"),
    ]


def test_hit_is_a_model() -> None:
    hit = find_identifiers("SSN 123-45-6789", [])[0]
    assert isinstance(hit, Hit)
    assert Hit.model_validate_json(hit.model_dump_json()) == hit


@pytest.mark.parametrize(
    "text", ["a." * 50_000, "12-" * 30_000, "a/" * 50_000, "born 1/" * 10_000, "1 " * 50_000]
)
def test_hostile_page_text_is_scanned_in_linear_time(text: str) -> None:
    import time

    started = time.perf_counter()
    find_identifiers(text, ["Emma Doe"])
    assert time.perf_counter() - started < 3.0
