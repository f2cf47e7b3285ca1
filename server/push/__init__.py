"""The sync push: batches of offline records from devices, one result per record."""
