"""The newsletter service: subscribers, issues, and every email the platform sends, exactly once."""

SERVICE = "newsletter"
SOURCE = "/newsletter"
