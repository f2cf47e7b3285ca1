"""Notifications: the caller's inbox (everyone) and the enterprise's channels (admins)."""
from flask.views import MethodView

from server.accounts.auth import current, require
from server.accounts.models import Role
from server.database import commits, get_owned
from server.extensions import Blueprint
from server.notifications import services
from server.notifications.models import Channel
from server.notifications.schemas import (
    ChannelIn, ChannelOut, ChannelPatch, NotificationOut, NotificationQuery, OutboxOut, OutboxQuery, ReplayIn, ReplayOut,
)
from sync.records import INT64_MAX

blp = Blueprint("notifications", __name__, description="Notifications (通知): in-app inbox, channels, the delivery outbox")


@blp.route("/notifications")
class Inbox(MethodView):
    @require()
    @blp.arguments(NotificationQuery, location="query")
    @blp.response(200, NotificationOut(many=True))
    def get(self, query):
        """My notifications, newest first (``unread=true`` for the unread ones only)."""
        principal = current()
        return services.list_notifications(principal.enterprise_id, principal.user_id, query)


@blp.route(f"/notifications/<int(max={INT64_MAX}):notification_id>/read")  # a bigint key
class InboxRead(MethodView):
    @require()
    @blp.response(200, NotificationOut)
    @commits
    def post(self, notification_id):
        """Mark one of my notifications read."""
        principal = current()
        return services.mark_read(principal.enterprise_id, principal.user_id, notification_id)


@blp.route("/notification-channels")
class Channels(MethodView):
    @require(Role.ADMIN)
    @blp.response(200, ChannelOut(many=True))
    def get(self):
        """The enterprise's channels (URLs and secrets are never returned)."""
        return services.list_channels(current().enterprise_id)

    @require(Role.ADMIN)
    @blp.arguments(ChannelIn)
    @blp.response(201, ChannelOut)
    @commits
    def post(self, data):
        """Add a channel: a signed webhook, a WeCom / DingTalk / Feishu robot, or e-mail."""
        return services.create_channel(current().enterprise_id, data)


@blp.route("/notification-channels/<int:channel_id>")
class ChannelItem(MethodView):
    @require(Role.ADMIN)
    @blp.response(200, ChannelOut)
    def get(self, channel_id):
        """One channel."""
        return get_owned(Channel, channel_id, current().enterprise_id)

    @require(Role.ADMIN)
    @blp.arguments(ChannelPatch)
    @blp.response(200, ChannelOut)
    @commits
    def patch(self, data, channel_id):
        """Change a channel, replace its secret, or deactivate it (``active: false``)."""
        return services.update_channel(current().enterprise_id, channel_id, data)


@blp.route("/notification-channels/<int:channel_id>/test")
class ChannelTest(MethodView):
    @require(Role.ADMIN)
    @blp.response(202, OutboxOut)
    @commits
    def post(self, channel_id):
        """Send a test message through this channel (queued in the outbox like any other)."""
        return services.send_test(current().enterprise_id, channel_id)


@blp.route("/notification-channels/<int:channel_id>/replay")
class ChannelReplay(MethodView):
    @require(Role.ADMIN)
    @blp.arguments(ReplayIn)
    @blp.response(202, ReplayOut)
    @commits
    def post(self, data, channel_id):
        """Send everything from ``from_seq`` on again, in order, with the same ids and numbers."""
        queued, last_seq = services.replay(current().enterprise_id, channel_id, data["from_seq"])
        return {"channel_id": channel_id, "from_seq": data["from_seq"], "queued": queued, "last_seq": last_seq}


@blp.route("/notification-channels/<int:channel_id>/outbox")
class ChannelOutbox(MethodView):
    @require(Role.ADMIN)
    @blp.arguments(OutboxQuery, location="query")
    @blp.response(200, OutboxOut(many=True))
    def get(self, query, channel_id):
        """The channel's deliveries in seq order: pending, delivered and dead (with the last error)."""
        return services.list_outbox(current().enterprise_id, channel_id, query)
