"""Dashboard pages: users and devices.

The same rules as the API (``server/accounts/views.py``): the list of users is for admins and
safety managers (read-only for the latter); creating, changing, deactivating a user, setting a
password and lifting a lockout are for admins; devices are for admins only. Every action calls
the service the API's endpoint calls, with the API's own input schema.
"""
from __future__ import annotations

from flask_babel import gettext as _

from server import clock
from server.accounts import services
from server.accounts.auth import current
from server.accounts.models import Role, User
from server.accounts.schemas import PasswordIn, SiteGrantsIn, UserIn, UserPatch
from server.enterprises.services import site_tree
from server.posts import grants
from server.database import commits, get_owned
from server.manage.pages import HTML, done, form_data, page_blueprint, render
from server.manage.session import signed_in

blp = page_blueprint("manage_accounts", __name__, "/manage", "users and devices")

ROLES = [role.value for role in Role]


@blp.route("/users", methods=["GET"])
@signed_in(Role.ADMIN, Role.SAFETY_MANAGER)
@blp.response(200, description="The enterprise's users; admins also get the form to add one", **HTML)
def users():
    """Every user of the enterprise: name, username, role, phone, active, locked until."""
    principal = current()
    return render(
        "accounts/users.html",
        users=services.list_users(principal.enterprise_id),
        roles=ROLES,
        can_edit=principal.role is Role.ADMIN,
        now=clock.now(),
    )


@blp.route("/users", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="User created: back to the list")
@commits
def create_user():
    """Add a user (admin), with the API's ``UserIn`` rules (username, role, password ≥ 8)."""
    data = form_data(UserIn())
    user = services.create_user(
        current().enterprise_id, data["username"], data["display_name"], data["role"], data["password"], data.get("phone")
    )
    return done(_("User %(name)s created.", name=user.display_name))


@blp.route("/users/<int:user_id>", methods=["GET"])
@signed_in(Role.ADMIN)
@blp.response(200, description="One user: change name, role, phone; deactivate; set a password; unlock", **HTML)
def user(user_id):
    """One user's page for an admin."""
    enterprise_id = current().enterprise_id
    found = get_owned(User, user_id, enterprise_id)
    granted = {site.id for site in grants.granted_sites(enterprise_id, user_id)}
    return render("accounts/user.html", user=found, roles=ROLES, now=clock.now(), sites=site_tree(enterprise_id), granted=granted)


@blp.route("/users/<int:user_id>/site-grants", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="Grants saved: back to the user's page")
@commits
def set_site_grants(user_id):
    """Grant a supervisor whole sites (the checked boxes; none checked takes every grant back)."""
    data = form_data(SiteGrantsIn(partial=True))  # no box checked: no field at all
    sites = grants.set_granted_sites(current().enterprise_id, user_id, data.get("site_ids", []), current().user_id)
    return done(_("Granted sites saved: %(n)s.", n=len(sites)))


@blp.route("/users/<int:user_id>", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="Changed: back to the page the form was on")
@commits
def update_user(user_id):
    """Change a user with the API's ``UserPatch``: name, role, phone (an empty phone field clears
    it), or ``active`` (deactivating ends all their sessions). Nobody deactivates or demotes
    themselves (``self_lockout``)."""
    data = form_data(UserPatch(), blank_is_none=("phone",))
    changed = services.update_user(current().enterprise_id, user_id, data, current().user_id)
    if data.get("active") is False:
        return done(_("%(name)s is deactivated; their sessions and phones are signed out.", name=changed.display_name))
    if data.get("active") is True:
        return done(_("%(name)s is active again.", name=changed.display_name))
    return done(_("%(name)s is saved.", name=changed.display_name))


@blp.route("/users/<int:user_id>/password", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="Password set: back to the user's page")
@commits
def set_password(user_id):
    """Set a new password for a user; their other sessions end and a lockout is lifted."""
    data = form_data(PasswordIn())
    changed = services.set_password(current().enterprise_id, user_id, data["password"], keep_token_id=current().token_id)
    return done(_("New password set for %(name)s; their other sessions are signed out.", name=changed.display_name))


@blp.route("/users/<int:user_id>/unlock", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="Unlocked: back to the page the form was on")
@commits
def unlock_user(user_id):
    """Lift a sign-in lockout before it runs out."""
    changed = services.unlock(current().enterprise_id, user_id)
    return done(_("%(name)s may sign in again.", name=changed.display_name))


@blp.route("/devices", methods=["GET"])
@signed_in(Role.ADMIN)
@blp.response(200, description="The enterprise's phones and tablets, with revoke / restore", **HTML)
def devices():
    """Every device that signed in: name, platform, user, last seen, revoked at and by whom."""
    enterprise_id = current().enterprise_id
    people = {u.id: u for u in services.list_users(enterprise_id)}
    return render("accounts/devices.html", devices=services.list_devices(enterprise_id), people=people)


@blp.route("/devices/<int:device_id>/revoke", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="Revoked: back to the devices")
@commits
def revoke_device(device_id):
    """Revoke a lost phone: every token it holds stops working at once."""
    device = services.revoke_device(current().enterprise_id, device_id, current().user_id)
    return done(_("Device %(name)s is revoked; it is signed out and cannot sign in again.", name=device.name or device.install_id))


@blp.route("/devices/<int:device_id>/restore", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="Restored: back to the devices")
@commits
def restore_device(device_id):
    """Let a revoked device sign in again (its old tokens stay dead)."""
    device = services.restore_device(current().enterprise_id, device_id)
    return done(_("Device %(name)s may sign in again.", name=device.name or device.install_id))
