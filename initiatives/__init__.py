"""The registry of initiatives: who does what, where, for whom and when."""
