"""Records, a pipeline and its run, in-process against an emulator: what the pipeline's
integration tests share."""

from __future__ import annotations

import json

from destination_hubspot_lago.airbyte.incoming import parse_lines, to_json
from destination_hubspot_lago.config import DestinationConfig
from destination_hubspot_lago.connector import build_pipeline, prepare

from .harness import private_app_config


def customer(i, **kw):
    return {
        "lago_id": f"c{i}",
        "external_id": f"ext-{i}",
        "name": f"Customer {i}",
        "customer_type": "company",
        **kw,
    }


def subscription(i, customer_id, **kw):
    return {
        "lago_id": f"s{i}",
        "external_id": f"sub-{i}",
        "lago_customer_id": customer_id,
        "status": "active",
        "plan_code": "pro",
        "billing_time": "calendar",
        "created_at": "2024-01-02T10:00:00Z",
        **kw,
    }


def invoice(i, customer_id, **kw):
    return {
        "lago_id": f"i{i}",
        "number": f"INV-{i}",
        "status": "finalized",
        "currency": "EUR",
        "total_amount_cents": 1000 + i,
        "issuing_date": "2024-02-01",
        "payment_status": "succeeded",
        "customer": {"lago_id": customer_id},
        **kw,
    }


def pipeline(emu, tuning=None, **config):
    """A pipeline against ``emu``; ``tuning``: WritePipeline's batch_size, flush_interval …"""
    parsed = DestinationConfig.parse(private_app_config(emu.url, **config))
    client, deployment = prepare(parsed)
    return build_pipeline(parsed, client, deployment, **(tuning or {})), deployment


def run_all(p, lines):
    return [json.loads(json.dumps(to_json(m))) for m in p.run(parse_lines(lines))]


def lago_ids(emu, type_id, prop):
    return {
        r["properties"][prop]: r for r in emu.store.objects(type_id) if r["properties"].get(prop)
    }
