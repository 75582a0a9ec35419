"""The partners service: organisations register, verify their email, are reviewed by partnerships staff, and join
the public partner directory with a badge. Every change is an event on partners.events (through the outbox), and
every email an email.requested command on notifications.email."""

SERVICE = "partners"
SOURCE = "/partners"
