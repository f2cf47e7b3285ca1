"""Public pages that need no account (the QR landing page; later the family report form)."""
