"""The routes table of the public origin (infra/routes.yaml): which service answers a path."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

ROUTES_FILE = Path(__file__).resolve().parents[1] / "routes.yaml"
SERVICES = ("pages", "partners", "stories", "newsletter")
MATCHES = ("exact", "prefix")


@dataclass(frozen=True)
class Route:
    path: str
    match: str  # exact | prefix
    service: str

    def matches(self, path: str) -> bool:
        if self.match == "exact":
            return path == self.path
        return path == self.path or path.startswith(self.path.rstrip("/") + "/")


@dataclass(frozen=True)
class RouteTable:
    routes: tuple[Route, ...]
    default: str
    blocked: tuple[str, ...]

    def service_for(self, path: str) -> str | None:
        """The service answering `path`, or None when the path is not public."""
        if path in self.blocked:
            return None
        exact = [r for r in self.routes if r.match == "exact" and r.matches(path)]
        if exact:
            return exact[0].service
        prefixes = [r for r in self.routes if r.match == "prefix" and r.matches(path)]
        if prefixes:
            return max(prefixes, key=lambda r: len(r.path)).service
        return self.default


def load(path: Path = ROUTES_FILE) -> RouteTable:
    raw = yaml.safe_load(path.read_text("utf-8"))
    routes = tuple(Route(r["path"], r["match"], r["service"]) for r in raw["routes"])
    table = RouteTable(routes, raw["default"], tuple(raw.get("blocked") or ()))
    _check(table)
    return table


@functools.cache
def table() -> RouteTable:
    return load()


def _check(table: RouteTable) -> None:
    for route in table.routes:
        if route.match not in MATCHES or route.service not in SERVICES or not route.path.startswith("/"):
            raise ValueError(f"bad route {route}")
    if table.default not in SERVICES:
        raise ValueError(f"unknown default service {table.default}")
    keys = [(r.path, r.match) for r in table.routes]
    if len(keys) != len(set(keys)):
        raise ValueError("a path is routed twice with the same match")
