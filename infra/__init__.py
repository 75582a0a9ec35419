"""Running the platform: the dev gateway, the Procfile's helpers, sample content and the operations doc."""
