"""The newsletter worker as a real process that SIGKILLs itself right after SendGrid accepted its Nth batch, before
the batch's ledger row is committed: the worst moment, the ambiguous window. Only once (CRASH_FLAG marks it).

    CRASH_AFTER_BATCHES=5 CRASH_FLAG=/tmp/flag python -m tests.newsletter.crashing_sender --roles sender,dispatch
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from nmd_newsletter import worker
from nmd_newsletter.mail import Accepted, Backend, Mail, make_backend


class CrashAfter:
    def __init__(self, backend: Backend, batches: int, flag: Path) -> None:
        self.backend, self.left, self.flag = backend, batches, flag
        self.idempotent = backend.idempotent

    def send(self, mail: Mail) -> Accepted:
        accepted = self.backend.send(mail)
        if "batch_id" in mail.custom_args and not self.flag.exists():
            self.left -= 1
            if self.left <= 0:
                self.flag.write_text(mail.custom_args["batch_id"])
                os.kill(os.getpid(), signal.SIGKILL)
        return accepted


def crashing_backend(name: str | None = None) -> Backend:
    return CrashAfter(make_backend(name), int(os.environ["CRASH_AFTER_BATCHES"]), Path(os.environ["CRASH_FLAG"]))


if __name__ == "__main__":
    worker.make_backend = crashing_backend  # type: ignore[assignment]
    worker.main()
