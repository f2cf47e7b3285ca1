"""Users, roles, devices and bearer tokens."""
