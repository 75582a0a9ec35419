"""Event data schemas by area. Importing this package registers them all (nmd_contracts.registry does it)."""

from nmd_contracts.events import email, newsletter, pages, partners, stories, subscribers

__all__ = ["email", "newsletter", "pages", "partners", "stories", "subscribers"]
