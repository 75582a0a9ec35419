"""Static publishing: render the public pages to files and put them in a folder or an S3 bucket, for CDN hosting.

    python -m nmd_pages.publishing            (target: PAGES_PUBLISH_TARGET, default a folder under NMD_VAR_DIR)

Pages are fetched through the app itself (a test client flagged as "publishing", so nothing is counted as a view),
so the static copy is byte for byte what the live site answers. Files that are no longer part of the site (a
withdrawn story's page) are deleted from the target. The worker runs this after read-model changes, debounced.
Pages are published as <path>/index.html, which S3 website hosting, CloudFront and nginx all resolve.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from flask import Flask
from nmd_runtime import settings
from sqlalchemy import Engine, select

from nmd_pages import directory, story_wall, tables
from nmd_pages.site import STATIC_PUBLISHING

log = logging.getLogger(__name__)

TARGET = settings.declare(
    "PAGES_PUBLISH_TARGET",
    "",
    "Where the static site goes: s3://bucket/prefix, or a folder (default: <NMD_VAR_DIR>/static-site).",
)
S3_ENDPOINT = settings.declare("PAGES_S3_ENDPOINT_URL", "", "S3 endpoint for static publishing (empty: AWS).")
DEBOUNCE = settings.declare(
    "PAGES_PUBLISH_DEBOUNCE_SECONDS",
    "5",
    "Quiet time after a read-model change before the static site is re-published.",
)

HTML_CACHE = "public, max-age=60, s-maxage=60"  # short: a withdrawn story must leave the CDN within a minute
ASSET_CACHE = "public, max-age=86400"
FIXED_PAGES = ("/", "/role-of-a-mentor", "/partners", "/stories", "/events", "/calendar.ics")
ASSETS = ("/assets/site.css", "/assets/site.js", "/pages/static/pages.css", "/pages/static/countdown.js")


@dataclass(frozen=True)
class StaticFile:
    key: str
    body: bytes
    content_type: str
    cache_control: str

    @property
    def md5(self) -> str:
        return hashlib.md5(self.body, usedforsecurity=False).hexdigest()


def key_for(path: str) -> str:
    if path == "/":
        return "index.html"
    if path.startswith(("/assets/", "/pages/static/")) or "." in path.rsplit("/", 1)[-1]:
        return path.lstrip("/")
    return path.strip("/") + "/index.html"


def site_paths(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        partners = conn.execute(select(directory.partners.c.slug).order_by(directory.partners.c.slug)).scalars()
        stories = conn.execute(select(story_wall.stories.c.slug).order_by(story_wall.stories.c.slug)).scalars()
        return [*FIXED_PAGES, *(f"/partner/{s}" for s in partners), *(f"/story/{s}" for s in stories)]


def render_site(app: Flask, engine: Engine) -> list[StaticFile]:
    client = app.test_client()
    files = []
    for path in [*site_paths(engine), *ASSETS]:
        response = client.get(path, environ_base={STATIC_PUBLISHING: True})
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}; not publishing a broken site")
        cache = ASSET_CACHE if path in ASSETS else HTML_CACHE
        files.append(StaticFile(key_for(path), response.get_data(), response.headers["Content-Type"], cache))
    return files


# --- targets ----


class Target(Protocol):
    def publish(self, files: list[StaticFile]) -> tuple[int, int]: ...


class FolderTarget:
    def __init__(self, root: Path) -> None:
        self.root = root

    def publish(self, files: list[StaticFile]) -> tuple[int, int]:
        written = 0
        for file in files:
            path = self.root / file.key
            if path.exists() and path.read_bytes() == file.body:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(path.name + ".tmp")
            temporary.write_bytes(file.body)
            temporary.replace(path)  # atomic: nginx never serves half a page
            written += 1
        wanted = {file.key for file in files}
        stale = [
            p for p in self.root.rglob("*") if p.is_file() and p.relative_to(self.root).as_posix() not in wanted
        ]
        for path in stale:
            path.unlink()
        return written, len(stale)


class S3Target:
    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client or boto3.client("s3", endpoint_url=S3_ENDPOINT.read() or None)

    def _existing(self) -> dict[str, str]:
        etags: dict[str, str] = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                etags[item["Key"]] = item["ETag"].strip('"')
        return etags

    def publish(self, files: list[StaticFile]) -> tuple[int, int]:
        existing = self._existing()
        written = 0
        for file in files:
            key = self.prefix + file.key
            if existing.get(key) == file.md5:
                continue
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=file.body,
                ContentType=file.content_type,
                CacheControl=file.cache_control,
            )
            written += 1
        stale = sorted(set(existing) - {self.prefix + file.key for file in files})
        for start in range(0, len(stale), 1000):  # DeleteObjects takes at most 1000 keys
            chunk = [{"Key": key} for key in stale[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
        return written, len(stale)


def target_from(spec: str) -> Target:
    if spec.startswith("s3://"):
        bucket, _, prefix = spec.removeprefix("s3://").partition("/")
        return S3Target(bucket, prefix)
    return FolderTarget(Path(spec) if spec else settings.var_dir() / "static-site")


def publish(app: Flask, engine: Engine, target: Target) -> tuple[int, int, int]:
    """(files in the site, files written, stale files deleted)."""
    files = render_site(app, engine)
    written, deleted = target.publish(files)
    log.info("static site published: %d files, %d written, %d deleted", len(files), written, deleted)
    return len(files), written, deleted


# --- the debounced job in the worker -----------------------------------------------------------------------------


class StaticPublisher:
    """Re-publishes once the read-model version has stopped moving for `debounce` seconds (a burst of approvals
    is one publish), and at most `max_delay` seconds after the first change of a burst that never settles."""

    def __init__(
        self,
        engine: Engine,
        app_factory: Callable[[], Flask],
        target: Target,
        *,
        debounce: float = 5.0,
        max_delay: float = 60.0,
        poll: float = 0.5,
    ) -> None:
        self.engine = engine
        self.app_factory = app_factory
        self.target = target
        self.debounce, self.max_delay, self.poll = debounce, max_delay, poll
        self.published_version: int | None = None
        self.publishes = 0

    @classmethod
    def from_settings(cls, engine: Engine) -> StaticPublisher:
        from nmd_pages.app import create_app

        url = engine.url.render_as_string(hide_password=False)
        return cls(engine, lambda: create_app(url), target_from(TARGET.read()), debounce=float(DEBOUNCE.read()))

    def _version(self) -> int:
        with self.engine.connect() as conn:
            return tables.read_version(conn)

    def run(self, stop: threading.Event) -> None:
        app = self.app_factory()
        seen, changed_at, first_change = None, 0.0, 0.0
        while not stop.is_set():
            version, now = self._version(), time.monotonic()
            if version != seen:
                if seen is None or seen == self.published_version:
                    first_change = now
                seen, changed_at = version, now
            due = version != self.published_version and (
                now - changed_at >= self.debounce or now - first_change >= self.max_delay
            )
            if due:
                try:
                    publish(app, self.engine, self.target)
                    self.published_version = version
                    self.publishes += 1
                except Exception:
                    log.exception("static publishing failed; will retry")
                    stop.wait(5.0)
            stop.wait(self.poll)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nmd-pages-publish", description="Publish the public pages as static files."
    )
    parser.add_argument(
        "--target", default=None, help="s3://bucket/prefix or a folder (default: PAGES_PUBLISH_TARGET)"
    )
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(list(argv) if argv is not None else None)
    from nmd_pages.app import create_app
    from nmd_pages.worker import prepare

    engine = prepare(args.database_url)
    url = engine.url.render_as_string(hide_password=False)
    count, written, deleted = publish(
        create_app(url), engine, target_from(args.target if args.target is not None else TARGET.read())
    )
    print(f"published {count} files ({written} written, {deleted} deleted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
