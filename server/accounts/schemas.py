import marshmallow as ma
from marshmallow import fields, validate

from server.accounts.models import Role

# A password an admin sets (on creating a user or resetting one): at least 8 characters.
NEW_PASSWORD = validate.Length(8, 256)


class DeviceInfo(ma.Schema):
    install_id = fields.String(required=True, validate=validate.Length(8, 64), metadata={"description": "Random id the app made at install"})
    name = fields.String(load_default="", validate=validate.Length(max=100))
    platform = fields.String(load_default="", validate=validate.Length(max=32))


class SignInIn(ma.Schema):
    enterprise = fields.String(required=True, validate=validate.Length(1, 64), metadata={"description": "Enterprise code"})
    username = fields.String(required=True, validate=validate.Length(1, 64))
    password = fields.String(required=True, validate=validate.Length(1, 256), load_only=True)
    device = fields.Nested(DeviceInfo, allow_none=True)


class UserOut(ma.Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.Enum(Role, by_value=True)
    phone = fields.String(allow_none=True)
    active = fields.Boolean()
    locale = fields.String(metadata={"description": "zh or en: the language of digests and notifications"})
    locked_until = fields.AwareDateTime(allow_none=True, metadata={"description": "Set while sign-in is locked after too many wrong passwords"})


class MePatch(ma.Schema):
    locale = fields.String(required=True, validate=validate.OneOf(["zh", "en"]))


class UserBrief(ma.Schema):
    id = fields.Integer()
    display_name = fields.String()


class UserIn(ma.Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.@-]{1,64}$"))
    display_name = fields.String(required=True, validate=validate.Length(1, 100))
    role = fields.Enum(Role, by_value=True, required=True)
    password = fields.String(required=True, validate=NEW_PASSWORD, load_only=True)
    phone = fields.String(validate=validate.Length(max=32))


class UserPatch(ma.Schema):
    """What an admin may change on a user; ``active: false`` deactivates (users are never deleted)."""

    display_name = fields.String(validate=validate.Length(1, 100))
    role = fields.Enum(Role, by_value=True)
    phone = fields.String(allow_none=True, validate=validate.Length(max=32), metadata={"description": "null clears it"})
    active = fields.Boolean(metadata={"description": "false deactivates the user and ends all their sessions"})


class PasswordIn(ma.Schema):
    password = fields.String(required=True, validate=NEW_PASSWORD, load_only=True, metadata={"description": "The user's new password"})


class DeviceOut(ma.Schema):
    id = fields.Integer()
    install_id = fields.String()
    name = fields.String()
    platform = fields.String()
    user_id = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()
    last_seen_at = fields.AwareDateTime(allow_none=True)
    revoked_at = fields.AwareDateTime(allow_none=True)
    revoked_by_id = fields.Integer(allow_none=True)


class SignInOut(ma.Schema):
    token = fields.String(metadata={"description": "Bearer token; shown only once"})
    token_type = fields.Constant("Bearer")
    expires_at = fields.AwareDateTime()
    user = fields.Nested(UserOut)
    device = fields.Nested(DeviceOut, allow_none=True)


class SiteGrantsIn(ma.Schema):
    """The whole set of sites granted to a supervisor (an empty list takes every grant back)."""

    site_ids = fields.List(fields.Integer(strict=True), required=True, validate=validate.Length(max=500))


class GrantedSite(ma.Schema):
    id = fields.Integer()
    name = fields.String()


class SiteGrantsOut(ma.Schema):
    """The sites a supervisor sees in full, besides the posts they supervise."""

    sites = fields.List(fields.Nested(GrantedSite))
