"""The dev gateway: one origin (http://localhost:8080) in front of every service's web process."""
