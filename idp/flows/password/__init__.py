"""The password journey."""
