"""Sample content goes in through the services' own domain functions (events in each outbox, emails requested),
is marked as sample, loads once, and one command withdraws it all the way a real partner, story or subscriber
would leave."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nmd_runtime.database import make_engine
from nmd_runtime.tables import outbox
from sqlalchemy import select

from infra import migrate, sample_content


def _events(tmp_path: Path, service: str) -> list[str]:
    engine = make_engine(f"sqlite:///{tmp_path / (service + '.db')}")
    with engine.connect() as conn:
        types = [json.loads(value)["type"] for value in conn.execute(select(outbox.c.value)).scalars()]
    engine.dispose()
    return types


def test_load_once_then_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NMD_VAR_DIR", str(tmp_path))
    for service in ("pages", "partners", "stories", "newsletter", "staff"):
        monkeypatch.delenv(f"{service.upper()}_DATABASE_URL", raising=False)
    migrate.migrate_all()

    assert sample_content.main(["load", "--first-run-only"]) == 0
    loaded = json.loads((tmp_path / "sample-content.json").read_text())
    assert {kind: len(ids) for kind, ids in loaded.items()} == {"partners": 3, "stories": 3, "subscribers": 2}
    assert _events(tmp_path, "partners").count("partner.approved") == 3
    stories = _events(tmp_path, "stories")
    assert (stories.count("story.published"), stories.count("story.featured")) == (3, 1)
    assert _events(tmp_path, "newsletter").count("subscriber.confirmed") == 2

    assert sample_content.main(["load", "--first-run-only"]) == 0  # a second run adds nothing
    assert _events(tmp_path, "partners").count("partner.approved") == 3

    assert sample_content.main(["remove"]) == 0
    assert _events(tmp_path, "partners").count("partner.withdrawn") == 3
    assert _events(tmp_path, "stories").count("story.withdrawn") == 3
    assert _events(tmp_path, "newsletter").count("subscriber.erased") == 2
    assert not (tmp_path / "sample-content.json").exists()
    assert sample_content.main(["load", "--first-run-only"]) == 0  # removed samples do not come back
    assert _events(tmp_path, "partners").count("partner.approved") == 3
