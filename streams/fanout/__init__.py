"""Fan-out: who watches what (hub), how messages cross processes (broker), how a frame leaves for a socket (transport)."""
