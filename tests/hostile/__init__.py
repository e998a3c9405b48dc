"""Hostile and careless input: every case ends in a clear message, never a traceback."""
