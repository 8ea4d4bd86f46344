"""The Tripletex API v2 client (no Flask): HTTP, session tokens, streams, mapping; `simulator/`."""
