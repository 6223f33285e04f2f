"""What a rejected record's reason says: HubSpot's words, the property, what to change."""

from destination_hubspot_lago.hubspot import HubSpotError
from destination_hubspot_lago.hubspot.errors import explain_rejection, refusal_reason

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
