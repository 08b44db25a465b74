"""The real-client corpus (logs of unmodified third-party clients run against the lab) and the fragment table."""
