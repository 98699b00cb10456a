"""The franceconnect journey."""
