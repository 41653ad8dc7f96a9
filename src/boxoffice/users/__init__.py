"""Users: sign-up, balance, point history."""
