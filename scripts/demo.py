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
import subprocess
import sys
import tempfile
from collections import defaultdict
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


def with_refused_record(messages: list[dict]) -> list[dict]:
    """The source's messages plus one subscription HubSpot will refuse, before the
    subscriptions STATE: its billing time is not an option of lago_billing_time."""
    out: list[dict] = []
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
                "lago_id": "sub-refused-0000",
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
    return out


def write(config_path: Path, catalog_path: Path, messages: list[dict]) -> list[dict]:
    """Run write, print its summary and what each echoed STATE says; answer its output."""
    out = connector("write", config_path, catalog_path, "\n".join(with_state_ids(messages)) + "\n")
    for m in out:
        if m["type"] == "LOG" and m["log"]["message"].startswith("Sync summary"):
            print("  " + m["log"]["message"].replace("\n", "\n  "))
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


def show(url: str) -> None:
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

    print("\nWhat HubSpot now holds (read back over the API):\n")
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
            if p.get("lago_customer_id"):
                print("      " + _billing_line(p))
            for kind, props in owner.get(f"{object_type}:{rec['id']}", []):
                print("      " + _line(kind, {k: v or "" for k, v in props.items()}))
        print()


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

    active = p.get("lago_active_subscriptions") or "-"
    return (
        f"billing       MRR {money('lago_mrr')} ({active} active)"
        f"   outstanding {money('lago_outstanding_amount')}"
        f"   overdue {money('lago_overdue_amount')}"
        f" ({p.get('lago_overdue_invoices') or '-'} invoices)"
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
        print(
            f"Lago sample: {len(dataset.customers)} customers, "
            f"{len(dataset.subscriptions)} subscriptions, {len(dataset.invoices)} invoices, "
            f"{len(dataset.plans)} plans, {len(dataset.fees)} fees, "
            f"{len(dataset.wallets)} wallets; "
            f"read {records} records through {origin}"
        )
        messages = with_refused_record(messages)
        print(
            "Added one subscription HubSpot will refuse (sub-refused-0000: billing_time "
            "'fortnightly' is not an option of HubSpot's lago_billing_time property)."
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
        streams = configured_catalog(STREAMS) if manifest.exists() else catalog(STREAMS)
        catalog_path.write_text(json.dumps(streams))

        print("\n$ destination-hubspot-lago check --config config.json")
        status = next(
            m for m in connector("check", config_path, None) if m["type"] == "CONNECTION_STATUS"
        )
        print(f"  {status['connectionStatus']['status']}: {status['connectionStatus']['message']}")

        command = "$ destination-hubspot-lago write --config config.json --catalog catalog.json"
        print(f"\n{command} < lago")
        out = write(config_path, catalog_path, messages)
        print(
            """
  How to read this:
  - "updated" on a first run: records that already existed in HubSpot. The sample links two
    Lago customers to a company and a contact that sales created by hand, so those are
    updated, not duplicated; a contact whose email HubSpot already holds is adopted (updated).
  - "skipped (not synced by rule)": records this destination deliberately leaves out, such
    as draft invoices and subscriptions that are neither active nor terminated.
  - "rejected": records HubSpot refused. The sync still succeeds: each one is named with its
    Lago id and HubSpot's reason, counted in its stream's STATE (rejectedRecordCount, which
    Airbyte shows as rejected records) and written to the bucket of object_storage_config."""
        )
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
        show(emu.url)

        before = hubspot_records(emu)
        print(f"\n{command} < lago   (the same input again)")
        again = write(config_path, catalog_path, messages)
        after = hubspot_records(emu)
        print(
            f"\n  HubSpot held {before} records before this second run and {after} after it: "
            f"nothing was\n  created, because every write is an upsert by Lago id (the same "
            f"input updates the same\n  records). The refused subscription is refused again "
            f"until it is fixed in Lago."
        )
        ok = all(any(m["type"] == "STATE" for m in run) for run in (out, again))
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
