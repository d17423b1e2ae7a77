"""Stored samples: the raw tier, per-second and per-minute rollups, bounded queries, retention."""
