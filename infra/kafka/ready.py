"""Exit 0 once a metadata request to BOOTSTRAP succeeds and shows BROKERS brokers; 1 on deadline or if a PID dies.

Usage: ready.py BOOTSTRAP BROKERS TIMEOUT_SECONDS [PID...]
"""

import logging
import os
import sys
import time

from kafka import KafkaAdminClient

logging.disable(logging.CRITICAL)  # connection-refused noise while the broker boots


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main() -> int:
    bootstrap, brokers, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    pids = [int(p) for p in sys.argv[4:]]
    deadline = time.monotonic() + timeout
    last = "no attempt"
    while time.monotonic() < deadline:
        dead = [p for p in pids if not alive(p)]
        if dead:
            print(f"broker process(es) {dead} exited", file=sys.stderr)
            return 1
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap, bootstrap_timeout_ms=3000, request_timeout_ms=5000
            )
            try:
                admin.list_topics()
                seen = len(admin.describe_cluster()["brokers"])
            finally:
                admin.close()
            if seen >= brokers:
                return 0
            last = f"{seen}/{brokers} brokers in metadata"
        except Exception as exc:  # any failure just means "not yet"
            last = repr(exc)
        time.sleep(0.25)
    print(f"not ready after {timeout:.0f}s: {last}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
