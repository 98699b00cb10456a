"""The registration journey."""
