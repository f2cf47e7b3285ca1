"""Dashboard pages: notification channels (admins, as in the API).

A channel's URL and secret are credentials (a robot's URL carries its access token): they are
typed in, never shown again — the pages show the URL's scheme and host (``url_hint``, the API's
own) and whether a secret is set. Leaving those fields empty when editing keeps what is stored.

"Send test" calls the API's ``send_test``: the test goes through the outbox like every other
notification, and the delivery worker sends it within seconds; the page lists each channel's
last deliveries (delivered, retrying with the receiver's error, or given up).
"""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from server.accounts.auth import current
from server.accounts.models import Role
from server.database import commits, get_owned
from server.manage.pages import HTML, N_, done, form_data, page_blueprint, render
from server.manage.session import signed_in
from server.notifications import services
from server.notifications.models import Channel
from server.notifications.schemas import ChannelIn, ChannelPatch, url_hint

blp = page_blueprint("manage_channels", __name__, "/manage/channels", "notification channels")

KIND_LABELS = {
    "webhook": N_("Signed webhook"),
    "wecom": N_("WeCom group robot"),
    "dingtalk": N_("DingTalk robot"),
    "feishu": N_("Feishu bot"),
    "email": N_("E-mail"),
}
STATUS_LABELS = {"pending": N_("Waiting to be sent"), "delivered": N_("Delivered"), "dead": N_("Gave up")}
RECENT = 10


def _context(**extra) -> dict:
    return {"kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS, "url_hint": url_hint, **extra}


@blp.route("", methods=["GET"])
@signed_in(Role.ADMIN)
@blp.response(200, description="The enterprise's channels, their last deliveries, and the form to add one", **HTML)
def channels():
    """Every channel: kind, where it goes (masked), active, its last delivery; and a new one."""
    enterprise_id = current().enterprise_id
    rows = services.list_channels(enterprise_id)
    latest = services.recent_deliveries(enterprise_id, [c.id for c in rows], limit=1)
    return render("channels/list.html", **_context(channels=rows, latest=latest))


@blp.route("", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="Channel added: to its page")
@commits
def create_channel():
    """Add a channel with the API's ``ChannelIn`` rules (a webhook needs a secret, e-mail needs recipients …)."""
    channel = services.create_channel(current().enterprise_id, form_data(ChannelIn()))
    return done(_("Channel %(name)s added. Send a test to check it.", name=channel.name), to=url_for("manage_channels.channel", channel_id=channel.id))


@blp.route("/<int:channel_id>", methods=["GET"])
@signed_in(Role.ADMIN)
@blp.response(200, description="One channel: edit, deactivate, send a test, its last deliveries", **HTML)
def channel(channel_id):
    """One channel, with its last deliveries newest first."""
    enterprise_id = current().enterprise_id
    row = get_owned(Channel, channel_id, enterprise_id)
    deliveries = services.recent_deliveries(enterprise_id, [row.id], limit=RECENT)[row.id]
    return render("channels/channel.html", **_context(channel=row, deliveries=deliveries))


@blp.route("/<int:channel_id>", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="Saved: back to the channel")
@commits
def update_channel(channel_id):
    """Change a channel with the API's ``ChannelPatch``: empty URL and secret fields keep the
    stored ones; ``active`` false deactivates it (nothing is deleted)."""
    data = form_data(ChannelPatch())
    changed = services.update_channel(current().enterprise_id, channel_id, data)
    if data.get("active") is False:
        return done(_("Channel %(name)s is deactivated; nothing is sent through it.", name=changed.name))
    if data.get("active") is True:
        return done(_("Channel %(name)s is active again.", name=changed.name))
    return done(_("Channel %(name)s is saved.", name=changed.name))


@blp.route("/<int:channel_id>/test", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="Test queued: back to the channel, where its result appears")
@commits
def send_test(channel_id):
    """Send a test message through the channel (the API's ``send_test``: queued in the outbox)."""
    entry = services.send_test(current().enterprise_id, channel_id)
    return done(_("Test message #%(seq)s is queued; it is sent within seconds. Reload to see the result below.", seq=entry.seq))
