"""Stand-ins for the outside world that tests may use instead of the real thing."""
