import marshmallow as ma
from marshmallow import fields, validate


class EnterpriseOut(ma.Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    timezone = fields.String()
    shifts = fields.List(fields.String())


class SiteIn(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    parent_id = fields.Integer(allow_none=True, strict=True)


class SitePatch(ma.Schema):
    name = fields.String(validate=validate.Length(1, 200))
    parent_id = fields.Integer(allow_none=True, strict=True)


class SiteOut(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    parent_id = fields.Integer(allow_none=True)
