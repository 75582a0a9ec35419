"""The README's tour shows only screenshots that exist, and each is one the end-to-end journey takes, so running
tests/e2e refreshes every picture of it."""

from __future__ import annotations

import re

from tests.platform.conftest import REPO

README = REPO / "README.md"
JOURNEY = REPO / "tests" / "e2e" / "test_journey.py"


def tour_images() -> list[str]:
    text = README.read_text("utf-8")
    tour = text.split("\n## A tour\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", tour)


def test_every_tour_screenshot_exists_and_is_taken_by_the_journey() -> None:
    images = tour_images()
    assert images, "the tour shows no screenshots"
    taken = set(re.findall(r'\.shot\("([\w-]+)"\)', JOURNEY.read_text("utf-8")))
    for image in images:
        assert (REPO / image).is_file(), f"{image} does not exist: run the end-to-end tests (tests/e2e)"
        found = re.fullmatch(r"docs/screenshots/tour-([\w-]+)\.png", image)
        assert found and found.group(1) in taken, f"{image} is not taken by tests/e2e/test_journey.py"
