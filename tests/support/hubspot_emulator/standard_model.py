"""HubSpot's standard CRM model as seeded in a fresh emulated portal.

Only what a billing sync touches is modelled: companies (``0-2``) and contacts (``0-1``) with their
default property groups and the usual address/contact properties, plus the HubSpot-defined
association types between them.  Property definitions are written in the short form below and
expanded to full ``Property`` dicts by the store (see ``store.property_from_definition``).
"""

from __future__ import annotations

from dataclasses import dataclass

# (name, label, type, fieldType, read_only_value)
PropertySeed = tuple[str, str, str, str, bool]


@dataclass(frozen=True)
class StandardType:
    type_id: str
    name: str  # plural API name, e.g. "contacts"
    singular: str  # e.g. "contact"
    label_singular: str
    label_plural: str
    group: str  # default property group, e.g. "contactinformation"
    group_label: str
    create_date_property: str
    modified_date_property: str
    # Properties returned when a read names no properties (HubSpot's per-type defaults).
    default_read_properties: tuple[str, ...]
    properties: tuple[PropertySeed, ...]


_ADDRESS: tuple[PropertySeed, ...] = (
    ("phone", "Phone Number", "string", "phonenumber", False),
    ("address", "Street Address", "string", "text", False),
    ("city", "City", "string", "text", False),
    ("state", "State/Region", "string", "text", False),
    ("zip", "Postal Code", "string", "text", False),
    ("country", "Country/Region", "string", "text", False),
    ("website", "Website URL", "string", "text", False),
)

COMPANIES = StandardType(
    type_id="0-2",
    name="companies",
    singular="company",
    label_singular="Company",
    label_plural="Companies",
    group="companyinformation",
    group_label="Company information",
    create_date_property="createdate",
    modified_date_property="hs_lastmodifieddate",
    default_read_properties=("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    properties=(
        ("name", "Company name", "string", "text", False),
        ("domain", "Company Domain Name", "string", "text", False),
        *_ADDRESS,
        ("address2", "Street Address 2", "string", "text", False),
        ("description", "Description", "string", "textarea", False),
        ("industry", "Industry", "string", "text", False),
        ("numberofemployees", "Number of Employees", "number", "number", False),
        ("annualrevenue", "Annual Revenue", "number", "number", False),
        ("hs_object_id", "Record ID", "number", "number", True),
        # createdate is writable on companies/contacts (imports set it); only the
        # last-modified timestamps are system-maintained.
        ("createdate", "Create Date", "datetime", "date", False),
        ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", True),
    ),
)

CONTACTS = StandardType(
    type_id="0-1",
    name="contacts",
    singular="contact",
    label_singular="Contact",
    label_plural="Contacts",
    group="contactinformation",
    group_label="Contact information",
    create_date_property="createdate",
    modified_date_property="lastmodifieddate",
    default_read_properties=(
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    properties=(
        ("email", "Email", "string", "text", False),
        ("firstname", "First Name", "string", "text", False),
        ("lastname", "Last Name", "string", "text", False),
        ("company", "Company Name", "string", "text", False),
        ("jobtitle", "Job Title", "string", "text", False),
        *_ADDRESS,
        ("hs_object_id", "Record ID", "number", "number", True),
        ("createdate", "Create Date", "datetime", "date", False),
        ("lastmodifieddate", "Last Modified Date", "datetime", "date", True),
        ("hs_lastmodifieddate", "Object last modified date/time", "datetime", "date", True),
    ),
)

STANDARD_TYPES = (CONTACTS, COMPANIES)

# Names accepted for standard types in URL paths and ``associatedObjects`` (case-insensitive).
STANDARD_ALIASES = {
    "contacts": "0-1",
    "contact": "0-1",
    "0-1": "0-1",
    "companies": "0-2",
    "company": "0-2",
    "0-2": "0-2",
}

# HubSpot-defined association types [SDK hubspot/crm/association_type.py]:
# (from_type_id, to_type_id, type_id, label, inverse_type_id).  Unlabelled types are listed
# before labelled ones because ``default`` associations pick the most generic (unlabelled) type.
HUBSPOT_DEFINED_ASSOCIATIONS: tuple[tuple[str, str, int, str | None, int], ...] = (
    ("0-1", "0-2", 279, None, 280),
    ("0-2", "0-1", 280, None, 279),
    ("0-1", "0-2", 1, "Primary", 2),
    ("0-2", "0-1", 2, "Primary", 1),
    ("0-1", "0-1", 449, None, 449),
    ("0-2", "0-2", 450, None, 450),
)

# Custom object limit used when the portal has none configured (Enterprise default [2ND]).
DEFAULT_CUSTOM_OBJECT_LIMIT = 10
