"""The demo world: customers and logins for trying the product and for isolation tests."""
