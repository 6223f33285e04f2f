"""What a rejected record's reason says: HubSpot's words, the property, what to change."""

from destination_hubspot_lago.hubspot import HubSpotError
from destination_hubspot_lago.hubspot.errors import explain_rejection, refusal_code, refusal_reason
from destination_hubspot_lago.sync.report import SYSTEMIC_MIN_RECORDS, StreamTally

RULE_BODY = (
    '{"status":"error","category":"VALIDATION_ERROR","correlationId":"c-1",'
    '"message":"Property values were not valid: [{\\"isValid\\":false,\\"message\\":'
    '\\"Industry is required\\",\\"error\\":\\"REQUIRED\\",\\"name\\":\\"industry\\"}]",'
    '"errors":[{"message":"A validation rule of this portal requires \'industry\'",'
    '"code":"REQUIRED","in":"industry","context":{"propertyName":["industry"]}}]}'
)


def test_an_admin_required_property_names_the_property_and_both_fixes():
    error = HubSpotError.from_response(400, RULE_BODY, "POST /crm/objects/2026-09/0-2/batch/upsert")
    reason = refusal_reason(error)
    assert reason.startswith("Property values were not valid")
    assert "HubSpot requires 'industry'" in reason
    assert "in Lago" in reason and "Settings > Properties > industry > Rules" in reason


def test_a_batch_error_item_is_explained_the_same_way():
    item = {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": "Property values were not valid",
        "context": {"propertyName": ["lago_billing_email"]},
        "errors": [{"message": "Enter a valid email", "code": "INVALID_EMAIL"}],
    }
    reason = refusal_reason(HubSpotError.from_body(207, item))
    assert "'lago_billing_email'" in reason and "Enter a valid email" in reason


def test_structured_fields_win_and_every_property_is_named_once():
    errors = [
        {"message": "x", "code": "REQUIRED", "context": {"propertyName": ["industry"]}},
        {"message": "y", "code": "INVALID_ALPHA", "in": "name"},
        {"message": "z", "code": "REQUIRED", "context": {"propertyName": ["industry"]}},
    ]
    reason = explain_rejection("VALIDATION_ERROR", "", "Refused", {}, errors)
    assert reason.count("'industry'") == 1 and "'name' (INVALID_ALPHA)" in reason


def test_other_refusals_keep_hubspots_words_only():
    assert explain_rejection("CONFLICT", "", "Contact already exists", {}, []) == (
        "Contact already exists"
    )
    assert explain_rejection("VALIDATION_ERROR", "", "Bad JSON", {}, []) == "Bad JSON"


def test_one_reason_is_the_structured_code_not_the_record_s_values():
    one = HubSpotError.from_response(400, RULE_BODY, "POST a")
    other_record = HubSpotError.from_response(400, RULE_BODY.replace("c-1", "c-2"), "POST b")
    assert refusal_code(one) == refusal_code(other_record)
    assert "VALIDATION_ERROR" in refusal_code(one) and "industry:REQUIRED" in refusal_code(one)
    another_property = HubSpotError.from_response(400, RULE_BODY.replace("industry", "city"), "c")
    assert refusal_code(another_property) != refusal_code(one)


def test_a_stream_is_systemic_only_with_at_least_five_records_all_refused_for_one_reason():
    def tally(records, reasons):
        t = StreamTally()
        t.records = records
        for reason in reasons:
            t.rejected(reason)
        return t

    assert tally(SYSTEMIC_MIN_RECORDS, ["A"] * SYSTEMIC_MIN_RECORDS).systemic_reason() == "A"
    assert tally(4, ["A"] * 4).systemic_reason() is None  # too few to tell
    assert tally(6, ["A"] * 5).systemic_reason() is None  # one record went through
    assert tally(6, ["A"] * 5 + ["B"]).systemic_reason() is None  # two reasons: bad data
    counted = tally(6, ["A", "A"])
    assert counted.take_since_state() == 2 and counted.take_since_state() == 0
