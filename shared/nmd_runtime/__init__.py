"""Runtime shared by every service: settings, database, outbox, Kafka consumers, web layout, staff sign-in."""
