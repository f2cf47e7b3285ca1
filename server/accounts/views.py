"""Sign-in, the caller's profile, users and devices."""
from flask.views import MethodView

from server.accounts import services
from server.accounts.auth import current, require
from server.accounts.models import Role, User
from server.extensions import Blueprint
from server.posts import grants
from server.accounts.schemas import SiteGrantsIn, SiteGrantsOut, DeviceOut, MePatch, PasswordIn, SignInIn, SignInOut, UserIn, UserOut, UserPatch
from server.database import commits, get_owned
from server.errors import ZichaError
from server.extensions import db

blp = Blueprint("accounts", __name__, description="Sign-in, users and devices")


@blp.route("/auth/sign-in", methods=["POST"])
@blp.arguments(SignInIn)
@blp.response(201, SignInOut)
@commits
def sign_in(data):
    """Sign in with enterprise code, username and password; get a bearer token.

    Send ``device`` from the phone app so the token is bound to that device and an
    administrator can revoke it if the phone is lost.
    """
    try:
        result = services.sign_in(data["enterprise"], data["username"], data["password"], data.get("device"))
    except ZichaError as error:
        if error.code == "invalid_credentials":
            db.session.commit()  # the wrong password's count must outlive the refusal (lockout)
        raise
    return {"token": result.token, "expires_at": result.api_token.expires_at, "user": result.user, "device": result.device}


@blp.route("/auth/sign-out", methods=["POST"])
@require()
@blp.response(204)
@commits
def sign_out():
    """Revoke the token this request was made with."""
    services.revoke_token(current().token_id)


@blp.route("/auth/me")
@require()
@blp.response(200, UserOut)
def me():
    """The signed-in user."""
    return get_owned(User, current().user_id, current().enterprise_id)


@blp.route("/auth/me", methods=["PATCH"])
@require()
@blp.arguments(MePatch)
@blp.response(200, UserOut)
@commits
def update_me(data):
    """Change the signed-in user's own preferences: ``locale`` (zh or en)."""
    return services.update_me(current().enterprise_id, current().user_id, data)


@blp.route("/users")
class Users(MethodView):
    @require(Role.ADMIN, Role.SAFETY_MANAGER)
    @blp.response(200, UserOut(many=True))
    def get(self):
        """List the enterprise's users."""
        return services.list_users(current().enterprise_id)

    @require(Role.ADMIN)
    @blp.arguments(UserIn)
    @blp.response(201, UserOut)
    @commits
    def post(self, data):
        """Create a user (admin)."""
        return services.create_user(
            current().enterprise_id, data["username"], data["display_name"], data["role"], data["password"], data.get("phone")
        )


@blp.route("/users/<int:user_id>")
class UserItem(MethodView):
    @require(Role.ADMIN, Role.SAFETY_MANAGER)
    @blp.response(200, UserOut)
    def get(self, user_id):
        """One user of the enterprise."""
        return get_owned(User, user_id, current().enterprise_id)

    @require(Role.ADMIN)
    @blp.arguments(UserPatch)
    @blp.response(200, UserOut)
    @commits
    def patch(self, data, user_id):
        """Change a user's name, phone or role, or deactivate them (``active: false``, which ends
        all their sessions at once). Admins cannot deactivate or demote themselves (``self_lockout``)."""
        return services.update_user(current().enterprise_id, user_id, data, current().user_id)


@blp.route("/users/<int:user_id>/password", methods=["POST"])
@require(Role.ADMIN)
@blp.arguments(PasswordIn)
@blp.response(200, UserOut)
@commits
def set_password(data, user_id):
    """Set a new password for a user (admin); their other sessions end and a lockout is lifted."""
    return services.set_password(current().enterprise_id, user_id, data["password"], keep_token_id=current().token_id)


@blp.route("/users/<int:user_id>/unlock", methods=["POST"])
@require(Role.ADMIN)
@blp.response(200, UserOut)
@commits
def unlock_user(user_id):
    """Lift a sign-in lockout (too many wrong passwords) before it runs out (admin)."""
    return services.unlock(current().enterprise_id, user_id)


@blp.route("/users/<int:user_id>/site-grants")
class SiteGrants(MethodView):
    @require(Role.ADMIN, Role.SAFETY_MANAGER)
    @blp.response(200, SiteGrantsOut)
    def get(self, user_id):
        """The sites granted to a supervisor: they see every post of these sites (checks, misses,
        hazards, reports, the overview) besides the posts they supervise."""
        return {"sites": grants.granted_sites(current().enterprise_id, user_id)}

    @require(Role.ADMIN)
    @blp.arguments(SiteGrantsIn)
    @blp.response(200, SiteGrantsOut)
    @commits
    def put(self, data, user_id):
        """Replace the sites granted to a supervisor (admin); ``[]`` takes every grant back."""
        return {"sites": grants.set_granted_sites(current().enterprise_id, user_id, data["site_ids"], current().user_id)}


@blp.route("/devices")
@require(Role.ADMIN)
@blp.response(200, DeviceOut(many=True))
def list_devices():
    """List the enterprise's devices (admin)."""
    return services.list_devices(current().enterprise_id)


@blp.route("/devices/<int:device_id>/revoke", methods=["POST"])
@require(Role.ADMIN)
@blp.response(200, DeviceOut)
@commits
def revoke_device(device_id):
    """Revoke a lost phone: every token it holds stops working at once (admin)."""
    return services.revoke_device(current().enterprise_id, device_id, current().user_id)


@blp.route("/devices/<int:device_id>/restore", methods=["POST"])
@require(Role.ADMIN)
@blp.response(200, DeviceOut)
@commits
def restore_device(device_id):
    """Let a revoked device sign in again; its old tokens stay revoked (admin)."""
    return services.restore_device(current().enterprise_id, device_id)
