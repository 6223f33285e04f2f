"""The HubSpot portal we write to: its credentials and scopes checked (``preflight.py``), the
data model as data (``model.py``) and its additive, idempotent deployment (``deployment.py``)."""
