"""The demo (``./scripts/demo``, the README's first command) says in plain words what happened,
and what it says is what the sync did.

The demo runs once for the module (a few seconds): every test reads its output and checks a
sentence against the sample data set or against the sync summary printed beside it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

import pytest

from tests.support.fake_lago import sample_dataset
from tests.support.harness import ROOT


@pytest.fixture(scope="module")
def demo() -> str:
    done = subprocess.run(
        [sys.executable, "scripts/demo.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def runs(demo: str) -> tuple[str, str]:
    """The first and the second write's part of the output."""
    first, second = demo.split("(the same input again)")
    return first, second


def number(text: str, pattern: str) -> int:
    found = re.search(pattern, text)
    assert found, pattern
    return int(found.group(1))


def test_the_demo_says_which_subscriptions_the_source_left_out_and_why(demo):
    sample = sample_dataset()
    total = sum(
        len(s)
        for s in (
            sample.customers,
            sample.subscriptions,
            sample.invoices,
            sample.plans,
            sample.fees,
            sample.wallets,
        )
    )
    read = number(demo, rf"\({total} records\); read (\d+) of them")
    not_active = [s for s in sample.subscriptions if s["status"] != "active"]
    assert total - read == len(not_active)
    said = number(demo, r"The source left out (\d+) of the \d+ subscriptions")
    assert said == len(not_active)
    for status, n in Counter(s["status"] for s in not_active).items():
        assert f"{n} {status}" in demo
    assert "Lago lists only active subscriptions to source-getlago" in demo


def test_a_refused_subscription_still_counts_in_lago_s_mrr_and_the_demo_says_so(demo):
    first, _ = runs(demo)
    holds = first.split("What HubSpot now holds")[1]
    blocks = re.split(r"\n  (?=\S)", holds)  # one block per company or contact
    explained = 0
    for block in blocks:
        active = re.search(r"from (\d+) active subscriptions?", block)
        if not active:
            continue
        listed = len(re.findall(r"subscription  \S+\s+active", block))
        if int(active.group(1)) > listed:
            assert "sub-refused-0000, the copy HubSpot refused" in block, block
            assert "Lago's MRR counts it" in block
            explained += 1
    assert explained == 1


def test_a_subscription_in_another_currency_is_explained_where_it_appears(demo):
    first, _ = runs(demo)
    summary_says = number(first, r"(\d+) active subscriptions? in another currency")
    notes = 0
    for block in re.split(r"\n  (?=\S)", first.split("What HubSpot now holds")[1]):
        billing = re.search(r"MRR [\d.]+ ([A-Z]{3}) from", block)
        if not billing:
            continue
        for currency in re.findall(r"subscription  .* MRR [\d.]+ ([A-Z]{3})", block):
            if currency != billing.group(1):
                assert f"billing currency {billing.group(1)}" in block, block
                assert f"its {currency} subscription" in block and "no exchange rates" in block
                notes += 1
    assert notes == summary_says == 1
    assert "currency's\n  decimals (JPY none, KWD three)" in first


def test_adoption_by_email_on_the_second_run_is_the_first_run_s_own_contacts(demo):
    first, second = runs(demo)
    assert number(first, r"contacts adopted by email: (\d+)") == 0
    created = number(first, r"^  contacts\s+(\d+)\s+\d+\s+\d+$".replace("^", "(?m)^"))
    adopted = number(second, r"contacts adopted by email: (\d+)")
    assert adopted == created == 2
    explained = re.search(
        r"contacts adopted by email: (\d+) now, 0 the first time: the (\d+) contacts the first run"
        r"\s+created \(([^)]*)\)",
        second,
    )
    assert explained and int(explained.group(1)) == adopted and int(explained.group(2)) == created
    assert explained.group(3) == "Jane Doe and Oliver Smith"


def test_the_first_run_s_numbers_are_read_in_plain_words(demo):
    first, _ = runs(demo)
    sample = sample_dataset()
    skipped = number(first, r"skipped \(not synced by rule\): invoices (\d+)\n")
    left_out = [i for i in sample.invoices if i["status"] not in ("finalized", "voided")]
    assert skipped == len(left_out)
    assert f"invoices {skipped}, the " in first
    late = number(first, r"MRR added to (\d+) subscriptions that arrived before their plan")
    assert f"plan values added to {late} subscriptions" in first
    linked = number(first, r"updated (\d+) on a first run")
    table = re.findall(r"(?m)^  (?:companies|contacts)\s+\d+\s+(\d+)\s+\d+$", first)
    assert linked == sum(int(n) for n in table) == 2
    assert "Acme Corp to a company and Zoë Brontë to a contact" in first


def test_the_demo_speaks_plain_words_with_correct_plurals(demo):
    assert not re.search(r"\b1 (invoices|subscriptions|active subscriptions|customers)\b", demo)
    assert not re.search(r"\b(?:0|[2-9]|\d{2,}) (invoice|subscription|customer)(?![s\w-])", demo)
    assert "written before their plan" not in demo  # jargon: "arrived before their plan"
    assert "(1 invoice)" in demo and "from 1 active subscription " in demo
