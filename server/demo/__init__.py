"""The demo enterprise: realistic Chinese data for trying Zicha and for benchmarks."""
