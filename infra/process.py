"""Run one process of the Procfile by its name: `python -m infra.process pages-worker`.

Containers (docker-compose.yml, infra/k8s) start their process this way, so a container runs exactly the command
`make run` runs: the Procfile stays the one list of processes and how each is started.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from honcho.environ import parse_procfile

PROCFILE = Path(__file__).resolve().parents[1] / "Procfile"


def processes(procfile: Path = PROCFILE) -> dict[str, str]:
    return dict(parse_procfile(procfile.read_text("utf-8")).processes)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    known = processes()
    if len(args) != 1 or args[0] not in known:
        sys.exit(f"usage: python -m infra.process {{{','.join(known)}}}")
    os.chdir(PROCFILE.parent)  # the Procfile's commands name modules relative to the repository
    os.execvp("sh", ["sh", "-c", known[args[0]]])


if __name__ == "__main__":
    main()
