"""Visma.net: the API client, its streams and the simulator."""
