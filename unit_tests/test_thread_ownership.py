"""The pipeline's state has one owner (the message loop): no locks are needed outside the
HubSpot client, whose pacer, token and counters are the only things threads share."""

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "destination_hubspot_lago"


def test_no_lock_or_semaphore_outside_the_hubspot_client():
    offenders = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in PACKAGE.rglob("*.py")
        if "hubspot" not in path.relative_to(PACKAGE).parts[:-1]
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\b(Lock|RLock|Semaphore|BoundedSemaphore|Condition)\b", line)
    ]
    assert offenders == []
