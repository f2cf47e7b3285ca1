import marshmallow as ma
from marshmallow import fields, validate

from server.accounts.schemas import UserBrief
from server.posts.models import RiskLevel


class PostIn(ma.Schema):
    site_id = fields.Integer(required=True, strict=True)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    risk_level = fields.Enum(RiskLevel, by_value=True, required=True, metadata={"description": "red 重大 / orange 较大 / yellow 一般 / blue 低"})
    location = fields.String(load_default="", validate=validate.Length(max=300))
    supervisor_id = fields.Integer(allow_none=True, strict=True)


class PostPatch(ma.Schema):
    site_id = fields.Integer(strict=True)
    name = fields.String(validate=validate.Length(1, 200))
    risk_level = fields.Enum(RiskLevel, by_value=True)
    location = fields.String(validate=validate.Length(max=300))
    supervisor_id = fields.Integer(allow_none=True, strict=True)
    active = fields.Boolean()


class SiteBrief(ma.Schema):
    id = fields.Integer()
    name = fields.String()


class PostOut(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    site = fields.Nested(SiteBrief)
    risk_level = fields.Enum(RiskLevel, by_value=True)
    risk_level_zh = fields.Method("_risk_level_zh", metadata={"description": "重大风险 / 较大风险 / 一般风险 / 低风险"})
    location = fields.String()
    supervisor = fields.Nested(UserBrief, allow_none=True)
    active = fields.Boolean()

    def _risk_level_zh(self, post) -> str:
        return RiskLevel(self.get_attribute(post, "risk_level", None)).zh


class PostAdminOut(PostOut):
    """What an administrator sees: also the QR token and URL (to print labels)."""

    qr_token = fields.String()
    qr_url = fields.Method("_qr_url")
    qr_rotated_at = fields.AwareDateTime(allow_none=True)

    def _qr_url(self, post):
        from server.posts.services import qr_url

        return qr_url(post.qr_token)


class PostListQuery(ma.Schema):
    site_id = fields.Integer()
