"""Stand-ins for third-party services the platform calls over HTTP (never for our own infrastructure)."""
