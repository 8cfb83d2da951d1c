"""Reaching people who are offline: printed leaflets, an SMS line, subscriptions (issue 19)."""
