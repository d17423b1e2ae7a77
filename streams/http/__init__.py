"""The HTTP API and the streams page, with their URLs."""
