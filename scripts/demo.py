"""The main job on the embedded default: a sample Lago data set into the local HubSpot emulator.

1. start the HubSpot emulator (a local stand-in for api.hubapi.com) and the fake Lago API;
2. read Lago with Airbyte's real `source-getlago` manifest when it is available (else the
   same records straight from the sample data set);
3. add one subscription HubSpot refuses (a billing time its property has no option for);
4. run `destination-hubspot-lago check`, then `write`, exactly as Airbyte would, with a local
   S3-compatible bucket for rejected records;
5. read HubSpot back over its API and show what it now holds;
6. run the same `write` again: nothing new is created.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.fake_lago import FakeLago  # noqa: E402
from tests.support.fake_lago.source_runner import (  # noqa: E402
    configured_catalog,
    default_manifest_path,
    read_with_source_manifest,
)
from tests.support.harness import catalog  # noqa: E402
from tests.support.hubspot_emulator import ALL_SCOPES, HubSpotEmulator  # noqa: E402
from tests.support.s3_server import S3Server  # noqa: E402
from tests.support.scenario import linked_sample, with_state_ids  # noqa: E402

TOKEN = "pat-na1-demo-0000-0000-0000-000000000000"
REFUSED_ID = "sub-refused-0000"
# All six streams the destination consumes: plans, fees and wallets feed the billing values.
STREAMS = ["customers", "subscriptions", "invoices", "plans", "fees", "wallets"]


def source_messages(dataset) -> tuple[list[dict], str]:
    manifest = default_manifest_path()
    if manifest.exists():
        with FakeLago(dataset=dataset, api_key="lago-demo-key") as lago:
            return read_with_source_manifest(lago.url, "lago-demo-key", STREAMS), (
                f"Airbyte's source-getlago manifest ({manifest})"
            )
    # No manifest on this machine: emit what the source would (it only lists active subscriptions).
    messages: list[dict] = []
    rows = {
        "customers": dataset.customers,
        "subscriptions": [s for s in dataset.subscriptions if s["status"] == "active"],
        "invoices": dataset.invoices,
        "plans": dataset.plans,
        "fees": dataset.fees,
        "wallets": dataset.wallets,
    }
    for stream, records in rows.items():
        for data in records:
            messages.append(
                {"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 0}}
            )
        messages.append(
            {
                "type": "STATE",
                "state": {
                    "type": "STREAM",
                    "stream": {"stream_descriptor": {"name": stream}, "stream_state": {}},
                },
            }
        )
    return messages, "the sample data set directly (source-getlago manifest not found)"


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``1 invoice``, ``2 invoices``."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def listed(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


def with_refused_record(messages: list[dict]) -> tuple[list[dict], dict]:
    """The source's messages plus one subscription HubSpot will refuse, before the
    subscriptions STATE (its billing time is not an option of lago_billing_time); and it."""
    out: list[dict] = []
    refused: dict = {}
    for message in messages:
        state = message.get("state") or {}
        name = ((state.get("stream") or {}).get("stream_descriptor") or {}).get("name")
        if message["type"] == "STATE" and name == "subscriptions":
            model = next(
                m["record"]["data"]
                for m in messages
                if m["type"] == "RECORD" and m["record"]["stream"] == "subscriptions"
            )
            refused = {
                **model,
                "lago_id": REFUSED_ID,
                "external_id": "sub-refused",
                "billing_time": "fortnightly",
            }
            out.append(
                {
                    "type": "RECORD",
                    "record": {"stream": "subscriptions", "data": refused, "emitted_at": 0},
                }
            )
        out.append(message)
    return out, refused


def write(config_path: Path, catalog_path: Path, messages: list[dict]) -> list[dict]:
    """Run write, print its summary and what each echoed STATE says; answer its output."""
    out = connector("write", config_path, catalog_path, "\n".join(with_state_ids(messages)) + "\n")
    print("  " + summary_of(out).replace("\n", "\n  "))
    states = [m["state"] for m in out if m["type"] == "STATE"]
    print(f"  {len(states)} states echoed, each once every record before it was in HubSpot:")
    for state in states:
        name = state["stream"]["stream_descriptor"]["name"]
        stats = state["destinationStats"]
        print(
            f"    {name:<14} recordCount {stats['recordCount']:>4g}   "
            f"rejectedRecordCount {stats.get('rejectedRecordCount', 0):g}"
        )
    return out


def summary_of(out: list[dict]) -> str:
    """The sync summary the connector logged."""
    return next(
        m["log"]["message"]
        for m in out
        if m["type"] == "LOG" and m["log"]["message"].startswith("Sync summary")
    )


def summary_number(summary: str, pattern: str) -> int:
    """The number a summary line gives, e.g. ``contacts adopted by email: (\\d+)``."""
    found = re.search(pattern, summary)
    return int(found.group(1)) if found else 0


def written(summary: str, obj: str) -> tuple[int, int, int]:
    """(created, updated, rejected) of ``obj`` in the summary's table."""
    found = re.search(rf"^{obj}\s+(\d+)\s+(\d+)\s+(\d+)$", summary, re.M)
    assert found, summary
    created, updated, rejected = (int(n) for n in found.groups())
    return created, updated, rejected


def contact_names(emu: HubSpotEmulator, ids: set[str]) -> list[str]:
    names = []
    for rec in emu.store.objects("contacts"):
        if rec["id"] in ids:
            p = rec["properties"]
            names.append(f"{p.get('firstname') or ''} {p.get('lastname') or ''}".strip())
    return sorted(names)


def hubspot_records(emu: HubSpotEmulator) -> int:
    """Companies, contacts and Lago records in the portal (read from the emulator's store)."""
    types = ["companies", "contacts"]
    types += [s["objectTypeId"] for s in emu.store.schemas() if s["name"].startswith("Lago")]
    return sum(len(emu.store.objects(t)) for t in types)


def connector(
    command: str, config_path: Path, catalog_path: Path | None, stdin: str = ""
) -> list[dict]:
    args = [
        sys.executable,
        "-m",
        "destination_hubspot_lago.run",
        command,
        "--config",
        str(config_path),
    ]
    if catalog_path:
        args += ["--catalog", str(catalog_path)]
    proc = subprocess.run(args, input=stdin, capture_output=True, text=True, cwd=ROOT)
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0:
        for m in messages:
            if m["type"] == "TRACE":
                print("  connector error:", m["trace"]["error"]["message"])
    return messages


def hubspot_get_all(url: str, object_type: str, properties: list[str]) -> list[dict]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    out, after = [], None
    while True:
        params = {"limit": 100, "properties": ",".join(properties)}
        if after:
            params["after"] = after
        page = requests.get(
            f"{url}/crm/v3/objects/{object_type}", params=params, headers=headers, timeout=10
        ).json()
        out += page["results"]
        after = (page.get("paging") or {}).get("next", {}).get("after")
        if not after:
            return out


def associated(url: str, from_type: str, from_id: str, to_type: str) -> list[str]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    answer = requests.get(
        f"{url}/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}",
        headers=headers,
        timeout=10,
    ).json()
    return [str(r["toObjectId"]) for r in answer.get("results", [])]


def show(url: str, refused: dict) -> None:
    """What HubSpot holds, each company and contact with its roll-ups, subscriptions and
    invoices; a note wherever a number needs one (the refused copy, another currency)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    schemas = requests.get(
        f"{url}/crm-object-schemas/v3/schemas", headers=headers, timeout=10
    ).json()
    type_ids = {s["name"]: s["objectTypeId"] for s in schemas["results"]}
    subs = hubspot_get_all(
        url,
        type_ids["LagoSubscriptions"],
        [
            "lago_subscription_plan_code",
            "lago_subscription_status",
            "lago_subscription_started_at",
            "lago_subscription_mrr",
            "lago_subscription_currency",
        ],
    )
    invoices = hubspot_get_all(
        url,
        type_ids["LagoInvoices"],
        [
            "lago_invoice_number",
            "lago_invoice_status",
            "lago_invoice_payment_status",
            "lago_invoice_total_amount",
            "lago_invoice_currency",
            "lago_invoice_payment_overdue",
        ],
    )
    owner: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for kind, type_id, records in (
        ("subscription", type_ids["LagoSubscriptions"], subs),
        ("invoice", type_ids["LagoInvoices"], invoices),
    ):
        for rec in records:
            for to_type in ("companies", "contacts"):
                for target in associated(url, type_id, rec["id"], to_type):
                    owner[f"{to_type}:{target}"].append((kind, rec["properties"]))

    print("\nWhat HubSpot now holds (read back over the API):")
    print(
        "  Each company and contact: its billing roll-ups (MRR, what it owes, what is overdue),\n"
        "  in its billing currency (the customer's currency in Lago) with that currency's\n"
        "  decimals (JPY none, KWD three); then its subscriptions and invoices.\n"
    )
    for object_type, label_props in (
        ("companies", ["name", "domain"]),
        ("contacts", ["email", "firstname", "lastname"]),
    ):
        records = hubspot_get_all(
            url, object_type, [*label_props, "lago_customer_id", *BILLING_ROLLUPS]
        )
        print(f"{object_type.capitalize()} ({len(records)})")
        for rec in records:
            p = rec["properties"]
            label = " ".join(str(p.get(k) or "") for k in label_props).strip()
            lago = (p.get("lago_customer_id") or "")[:8]
            print(f"  {label:<48} lago {lago or '-':<8}  hubspot id {rec['id']}")
            mine = [
                (kind, {k: v or "" for k, v in props.items()})
                for kind, props in owner.get(f"{object_type}:{rec['id']}", [])
            ]
            if p.get("lago_customer_id"):
                print("      " + _billing_line(p))
                for note in _notes(p, mine, refused):
                    print("        " + note)
            for kind, props in mine:
                print("      " + _line(kind, props))
        print()


def _notes(p: dict, mine: list[tuple[str, dict]], refused: dict) -> list[str]:
    """Why a roll-up differs from the records listed under it."""
    notes = []
    active = int(float(p.get("lago_active_subscriptions") or 0))
    shown = [s for kind, s in mine if kind == "subscription"]
    shown_active = sum(1 for s in shown if s.get("lago_subscription_status") == "active")
    if refused.get("lago_customer_id") == p.get("lago_customer_id") and active > shown_active:
        notes.append(
            f"({active} active: {refused['lago_id']}, the copy HubSpot refused, is not listed\n"
            "         below, but it is active in Lago, so Lago's MRR counts it: the roll-ups are\n"
            "         Lago's numbers, not a sum of what HubSpot holds.)"
        )
    billing = p.get("lago_billing_currency") or ""
    for sub in shown:
        currency = sub.get("lago_subscription_currency")
        if billing and currency and currency != billing:
            notes.append(
                f"(billing currency {billing}, Lago's currency for this customer: its "
                f"{currency} subscription\n"
                f"         counts as active but not in MRR, as no exchange rates are applied.)"
            )
    return notes


# docs/product.md §6 roll-ups on companies and contacts (blank: never written, e.g. its stream
# was not selected).
BILLING_ROLLUPS = [
    "lago_billing_currency",
    "lago_mrr",
    "lago_active_subscriptions",
    "lago_outstanding_amount",
    "lago_overdue_amount",
    "lago_overdue_invoices",
]


def _billing_line(p: dict) -> str:
    currency = p.get("lago_billing_currency") or ""

    def money(prop: str) -> str:
        value = p.get(prop)
        return f"{value} {currency}".strip() if value not in (None, "") else "-"

    active = int(float(p.get("lago_active_subscriptions") or 0))
    overdue = int(float(p.get("lago_overdue_invoices") or 0))
    return (
        f"billing       MRR {money('lago_mrr')} from {counted(active, 'active subscription')}"
        f"   outstanding {money('lago_outstanding_amount')}"
        f"   overdue {money('lago_overdue_amount')} ({counted(overdue, 'invoice')})"
    )


def _line(kind: str, p: dict) -> str:
    if kind == "subscription":
        mrr = p.get("lago_subscription_mrr")
        mrr_text = f"   MRR {mrr} {p.get('lago_subscription_currency', '')}" if mrr else ""
        return (
            f"subscription  {p.get('lago_subscription_plan_code', ''):<17} "
            f"{p.get('lago_subscription_status', ''):<12}"
            f"since {p.get('lago_subscription_started_at') or '-'}{mrr_text}"
        )
    amount = f"{p.get('lago_invoice_total_amount', '')} {p.get('lago_invoice_currency', '')}"
    overdue = "  OVERDUE" if p.get("lago_invoice_payment_overdue") == "true" else ""
    return (
        f"invoice       {p.get('lago_invoice_number', ''):<22}"
        f"{p.get('lago_invoice_status', ''):<11}"
        f"{p.get('lago_invoice_payment_status', ''):<11}{amount:>16}{overdue}"
    )


def left_out_line(dataset, messages: list[dict]) -> str:
    """What the source did not send, and why."""
    read = {
        m["record"]["data"]["lago_id"]
        for m in messages
        if m["type"] == "RECORD" and m["record"]["stream"] == "subscriptions"
    }
    missing = [s for s in dataset.subscriptions if s["lago_id"] not in read]
    if not missing:
        return "  The source sent every subscription of the sample."
    statuses = Counter(s["status"] for s in missing)
    kinds = listed([f"{n} {status}" for status, n in sorted(statuses.items(), key=_most)])
    return (
        f"  The source left out {len(missing)} of the {len(dataset.subscriptions)} subscriptions "
        f"({kinds}):\n  Lago lists only active subscriptions to source-getlago. One that "
        "stops arriving is marked\n  terminated in HubSpot (docs/destination-hubspot-lago.md, "
        "Terminated subscriptions)."
    )


def _most(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def how_to_read(summary: str, dataset, refused: dict, states: list[dict]) -> str:
    """The first run's summary in plain words, each number taken from the summary or the
    sample, so the text and the sync cannot disagree."""
    linked = [
        (c["name"], entry["targeted_object"])
        for c in dataset.customers
        for entry in c.get("integration_customers") or []
        if entry.get("external_customer_id")
    ]
    updated = sum(written(summary, obj)[1] for obj in ("companies", "contacts"))
    adopted = summary_number(summary, r"contacts adopted by email: (\d+)")
    skipped = summary_number(summary, r"skipped \(not synced by rule\): invoices (\d+)")
    left_out = Counter(
        i["status"] for i in dataset.invoices if i["status"] not in ("finalized", "voided")
    )
    late = summary_number(summary, r"added to (\d+) subscriptions? that arrived before")
    subs = next(
        s["destinationStats"]
        for s in states
        if s["stream"]["stream_descriptor"]["name"] == "subscriptions"
    )
    singular = {"companies": "company", "contacts": "contact"}
    targets = listed([f"{name} to a {singular[target]}" for name, target in linked])
    lines = [
        "  How to read this:",
        f"  - updated {updated} on a first run: records that already existed in HubSpot. Lago "
        f"links {counted(len(linked), 'customer')}\n    ({targets}) to records sales created "
        "by hand:\n    those are updated, not duplicated.",
        f"  - contacts adopted by email: {adopted}. A new Lago contact whose email a HubSpot "
        "contact already\n    holds takes that contact over instead of duplicating it; "
        + (
            "no HubSpot contact held such an\n    email on this first run."
            if adopted == 0
            else f"{counted(adopted, 'contact')} did here."
        ),
        f"  - skipped (not synced by rule): invoices {skipped}, the "
        + listed([f"{n} {status}" for status, n in sorted(left_out.items(), key=_most)])
        + " ones. Like Lago's own\n    HubSpot integration, this destination writes only "
        "finalized and voided invoices.",
        f"  - plan values added to {counted(late, 'subscription')}: the source sent the "
        "subscriptions before the plans;\n    a subscription without its plan nested is written "
        "at once, and gets its plan's name,\n    interval, amount and MRR once the plans "
        "have arrived.",
        "  - fees naming an invoice or subscription not in HubSpot: fees are invoice lines; "
        "those of\n    draft or pending invoices and of subscriptions the source left out have "
        "nothing to link.",
        "  - active subscription in another currency: see the note on billing currency below."
        if "in another currency" in summary
        else "",
        f"  - rejected {subs.get('rejectedRecordCount', 0):g}: {refused['lago_id']}, refused by "
        "HubSpot. The sync still succeeds: the\n    record is named with its Lago id and "
        "HubSpot's reason, counted in its stream's STATE\n    (rejectedRecordCount, which "
        "Airbyte shows as rejected records) and written to the bucket\n    of "
        f"object_storage_config. The subscriptions STATE counts {subs['recordCount']:g} "
        f"records: the {subs['recordCount'] - 1:g}\n    the source sent and the refused copy.",
    ]
    return "\n" + "\n".join(line for line in lines if line)


def main() -> int:
    with (
        HubSpotEmulator(private_app_tokens={TOKEN: ALL_SCOPES}) as emu,
        S3Server() as s3,
        tempfile.TemporaryDirectory() as tmp,
    ):
        print(f"HubSpot emulator listening on {emu.url} (portal 62515)")
        print(f"S3-compatible bucket for rejected records at {s3.url} (bucket 'rejected')")
        dataset = linked_sample(emu.store)
        messages, origin = source_messages(dataset)
        records = sum(1 for m in messages if m["type"] == "RECORD")
        streams = (
            dataset.customers,
            dataset.subscriptions,
            dataset.invoices,
            dataset.plans,
            dataset.fees,
            dataset.wallets,
        )
        print(
            f"Lago sample: {len(dataset.customers)} customers, "
            f"{len(dataset.subscriptions)} subscriptions, {len(dataset.invoices)} invoices, "
            f"{len(dataset.plans)} plans, {len(dataset.fees)} fees, "
            f"{len(dataset.wallets)} wallets ({sum(len(s) for s in streams)} records); "
            f"read {records} of them through {origin}."
        )
        print(left_out_line(dataset, messages))
        messages, refused = with_refused_record(messages)
        owner = next(
            c["name"] for c in dataset.customers if c["lago_id"] == refused["lago_customer_id"]
        )
        print(
            f"Added one subscription HubSpot will refuse: {refused['lago_id']}, a copy of "
            f"{owner}'s active\n'{refused['plan_code']}' subscription with billing_time "
            "'fortnightly', which is not an option of HubSpot's\nlago_billing_time property."
        )

        config_path, catalog_path = Path(tmp, "config.json"), Path(tmp, "catalog.json")
        config_path.write_text(
            json.dumps(
                {
                    "credentials": {
                        "credentials_title": "Private App Credentials",
                        "access_token": TOKEN,
                    },
                    "api_base_url": emu.url,
                    "lago_organization_slug": "hooli",
                    "object_storage_config": s3.storage_config(),
                }
            )
        )
        # As Airbyte does: the catalog carries the source's stream schemas (when known).
        manifest = default_manifest_path()
        streams_catalog = configured_catalog(STREAMS) if manifest.exists() else catalog(STREAMS)
        catalog_path.write_text(json.dumps(streams_catalog))

        print("\n$ destination-hubspot-lago check --config config.json")
        status = next(
            m for m in connector("check", config_path, None) if m["type"] == "CONNECTION_STATUS"
        )
        print(f"  {status['connectionStatus']['status']}: {status['connectionStatus']['message']}")

        command = "$ destination-hubspot-lago write --config config.json --catalog catalog.json"
        print(f"\n{command} < lago")
        contacts_before = {rec["id"] for rec in emu.store.objects("contacts")}
        out = write(config_path, catalog_path, messages)
        first = summary_of(out)
        states = [m["state"] for m in out if m["type"] == "STATE"]
        print(how_to_read(first, dataset, refused, states))
        for key, body in s3.objects().items():
            print(f"\n  s3://rejected/{key}:")
            for line in body.decode().splitlines():
                stored = json.loads(line)
                reason = stored["reason"]
                print(f"    {stored['stream']} {stored['lago_id']}: {stored['category']}")
                print(f"    reason: {reason[:100]}{'…' if len(reason) > 100 else ''}")
                print(
                    f"    with the {len(stored['properties'])} properties that were sent "
                    f"(lago_billing_time: {stored['properties'].get('lago_billing_time')!r})"
                )
        show(emu.url, refused)

        created_contacts = {rec["id"] for rec in emu.store.objects("contacts")} - contacts_before
        before = hubspot_records(emu)
        print(f"\n{command} < lago   (the same input again)")
        again = write(config_path, catalog_path, messages)
        after = hubspot_records(emu)
        adopted = summary_number(summary_of(again), r"contacts adopted by email: (\d+)")
        print(
            f"\n  HubSpot held {before} records before this second run and {after} after it: "
            f"nothing was\n  created, because every write is an upsert by Lago id (the same "
            f"input updates the same\n  records). The refused subscription is refused again "
            f"until it is fixed in Lago."
        )
        print(
            f"  contacts adopted by email: {adopted} now, 0 the first time: the "
            f"{counted(len(created_contacts), 'contact')} the first run\n  created ("
            f"{listed(contact_names(emu, created_contacts))}) are found by their email, which "
            "HubSpot keeps unique\n  among contacts, and updated in place, as a contact sales "
            "had created with that email\n  would be."
        )
        ok = all(any(m["type"] == "STATE" for m in run) for run in (out, again))
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
