"""The secrets of this run, and the one filter that masks them in everything we print.

Registered: the config's ``airbyte_secret`` fields (from ``spec.json``) as soon as the config
is read, and every credential minted while running (OAuth access tokens, rotated refresh
tokens, their URL-quoted forms). :func:`filter_secrets` replaces each with ``****``, longest
first, so a secret that contains another is masked whole.

No lock: registering is a single dict assignment, and the masking order is recomputed
whenever it is out of date, so a filter running alongside a registration at worst uses the
previous order once.

When the Airbyte CDK is loaded (the connector embedded as a CDK ``Destination``), new
secrets are also handed to the CDK's own log filter, which then formats the log lines.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "****"
_CDK_SECRETS = "airbyte_cdk.utils.airbyte_secrets_utils"

_registered: dict[str, None] = {}  # an insertion-ordered set
_longest_first: tuple[str, ...] = ()


def update_secrets(values: Iterable[Any]) -> None:
    """Add secrets to the filter (never removes one: a token stays masked after refresh)."""
    new = [text for text in (str(v) for v in values if v is not None) if text]
    for text in new:
        _registered[text] = None
    _reorder()
    cdk = sys.modules.get(_CDK_SECRETS)
    if cdk is not None:
        for text in new:
            cdk.add_to_secrets(text)


def forget_secrets() -> None:
    """Empty the registry: for a host running several syncs, each with its own secrets, in one
    process (a test session). A command-line run never needs it."""
    _registered.clear()
    _reorder()


def filter_secrets(text: str) -> str:
    """``text`` with every registered secret replaced by ``****``."""
    if len(_longest_first) != len(_registered):
        _reorder()
    for secret in _longest_first:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _reorder() -> None:
    global _longest_first
    _longest_first = tuple(sorted(list(_registered), key=len, reverse=True))


def config_secrets(connection_specification: Mapping[str, Any], config: Any) -> list[Any]:
    """The values of ``config`` at every field the spec marks ``airbyte_secret`` (the
    fields of each ``oneOf`` branch included; absent ones skipped), as the CDK's
    ``get_secrets`` finds them."""
    found = []
    for path in _secret_paths(connection_specification.get("properties", {}), []):
        value: Any = config
        for key in path:
            if not isinstance(value, Mapping) or key not in value:
                break
            value = value[key]
        else:
            found.append(value)
    return found


def _secret_paths(schema: Any, path: list[str]) -> Iterable[list[str]]:
    if isinstance(schema, Mapping):
        for key, value in schema.items():
            if key == "airbyte_secret" and value is True and path:
                yield [p for p in path if p not in ("properties", "oneOf")]
            else:
                yield from _secret_paths(value, [*path, key])
    elif isinstance(schema, list):
        for item in schema:
            yield from _secret_paths(item, path)
