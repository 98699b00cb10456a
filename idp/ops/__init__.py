"""What operators watch and run: health and status endpoints, metrics, events, audit, purge."""
