"""Pages every user shares: the start page, health check, error pages and template helpers."""
