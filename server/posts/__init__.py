"""Posts (岗位/风险点): where checks happen, each with a QR code."""
