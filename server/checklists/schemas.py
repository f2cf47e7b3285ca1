import marshmallow as ma
from marshmallow import fields, validate

from sync.records import ItemListSchema, ItemSchema


class ChecklistIn(ItemListSchema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    description = fields.String(load_default="", validate=validate.Length(max=2000))


class VersionIn(ItemListSchema):
    title = fields.String(validate=validate.Length(1, 200), metadata={"description": "Optional new title"})


class VersionContentOut(ma.Schema):
    """A published version's immutable content: what a device checks against."""

    id = fields.Integer()
    checklist_id = fields.Integer()
    number = fields.Integer()
    title = fields.String()
    items = fields.List(fields.Nested(ItemSchema))
    published_at = fields.AwareDateTime()


class VersionOut(VersionContentOut):
    retired_at = fields.AwareDateTime(allow_none=True)


class Serialised(fields.Nested):
    """A Nested field (so the OpenAPI document shows its schema) whose value arrives already
    serialised — e.g. from :func:`server.checklists.services.version_payload` — and is passed
    through untouched."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class VersionBrief(ma.Schema):
    id = fields.Integer()
    number = fields.Integer()
    published_at = fields.AwareDateTime()
    retired_at = fields.AwareDateTime(allow_none=True)


class ChecklistOut(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    current_version = fields.Nested(VersionOut, allow_none=True)
    versions = fields.List(fields.Nested(VersionBrief))
