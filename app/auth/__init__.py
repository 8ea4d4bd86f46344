"""Who may log in and what they may see: users, login, logout, roles."""
