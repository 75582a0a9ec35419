"""The configuration reference of docs/operations.md, generated from the variables the code declares.

    python -m infra.operations_doc           rewrite the generated section of docs/operations.md
    python -m infra.operations_doc --check   exit 1 when docs/operations.md is stale (tests/platform runs this)

Every environment variable is declared with `nmd_runtime.settings.declare` (or in its VARIABLES) by the module
that reads it; importing every module of the platform therefore collects them all.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from nmd_runtime import settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "operations.md"
BEGIN = "<!-- BEGIN GENERATED: configuration (python -m infra.operations_doc) -->"
END = "<!-- END GENERATED: configuration -->"
PACKAGES = ("nmd_runtime", "nmd_contracts", "nmd_pages", "nmd_partners", "nmd_stories", "nmd_newsletter")
INFRA_MODULES = ("infra.gateway.app", "infra.gunicorn_config", "infra.migrate", "infra.sample_content")
DATABASES = ("pages", "partners", "stories", "newsletter", "staff")


def declared_variables() -> dict[str, settings.Variable]:
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)
    for name in INFRA_MODULES:
        importlib.import_module(name)
    for service in DATABASES:
        # Declared when first read; their defaults point into NMD_VAR_DIR.
        settings.declare(
            f"{service.upper()}_DATABASE_URL",
            "",
            f"Database of the {service} service (default: SQLite file under NMD_VAR_DIR).",
        )
    return dict(sorted(settings.VARIABLES.items()))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reference() -> str:
    lines = [BEGIN, "", "| variable | default | what it sets |", "| --- | --- | --- |"]
    for variable in declared_variables().values():
        default = f"`{_cell(variable.default)}`" if variable.default else "(empty)"
        lines.append(f"| `{variable.name}` | {default} | {_cell(variable.description)} |")
    return "\n".join([*lines, "", END])


def rendered(current: str) -> str:
    before, _, rest = current.partition(BEGIN)
    _, found, after = rest.partition(END)
    if not found:
        raise SystemExit(f"{DOC} lacks the markers {BEGIN!r} ... {END!r}")
    return before + reference() + after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.operations_doc", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when docs/operations.md is stale")
    args = parser.parse_args(argv)
    current = DOC.read_text("utf-8")
    fresh = rendered(current)
    if args.check:
        if fresh != current:
            print(f"{DOC} is stale: run python -m infra.operations_doc", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh, "utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
