"""The login journey."""
