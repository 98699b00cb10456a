"""The account journey."""
