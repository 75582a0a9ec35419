"""Create or update every service's tables before the processes start: `python -m infra.migrate`.

Each database is the service's own (`<SERVICE>_DATABASE_URL`, else a SQLite file under NMD_VAR_DIR); migrating
here first means the web processes' workers never race each other creating the same tables.
"""

from __future__ import annotations

from nmd_runtime import database, settings, staff
from nmd_runtime import tables as runtime_tables


def migrate_all() -> list[str]:
    from nmd_newsletter.app import create_engine_and_migrate
    from nmd_pages.worker import prepare as prepare_pages
    from nmd_partners.app import make_engine as partners_engine
    from nmd_stories.tables import metadata as stories_metadata

    engines = {
        "pages": prepare_pages(),
        "partners": partners_engine(),
        "newsletter": create_engine_and_migrate(),
    }
    stories = database.make_engine(settings.database_url("stories"))
    database.migrate(stories, runtime_tables.metadata, stories_metadata)
    engines["stories"] = stories
    engines["staff"] = staff.staff_store().engine
    for engine in engines.values():
        engine.dispose()
    return sorted(engines)


def main() -> None:
    print(f"migrated: {', '.join(migrate_all())}")


if __name__ == "__main__":
    main()
