"""Notifications: channels per enterprise, the transactional outbox, and the delivery worker."""
