"""Photo evidence: content-addressed photos, the image pipeline, storage and tus uploads."""
