"""Partner organisations and the user accounts that act for them."""
