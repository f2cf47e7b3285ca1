"""Shapes of the push API: the wire format lives in :mod:`sync.protocol`; these add the managers' view."""
import marshmallow as ma
from marshmallow import fields

from server.accounts.schemas import DeviceOut
from sync.protocol import PushResultSchema, PushSchema

__all__ = ["PushSchema", "PushResultSchema", "GapQuery", "DeviceGapsOut"]


class GapQuery(ma.Schema):
    opened_before = fields.AwareDateTime(
        metadata={"description": "Only runs missing since before this moment (default: all open runs)"}
    )


class GapOut(ma.Schema):
    first = fields.Integer()
    last = fields.Integer()
    count = fields.Integer()
    opened_at = fields.AwareDateTime(metadata={"description": "When the run was first seen missing"})


class DeviceGapsOut(ma.Schema):
    device = fields.Nested(DeviceOut)
    user_id = fields.Integer(allow_none=True)
    highest = fields.Integer(metadata={"description": "Highest device_seq received"})
    gaps = fields.List(fields.Nested(GapOut))
