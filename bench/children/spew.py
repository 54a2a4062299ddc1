"""Write COUNT lines of exactly 100 bytes to stdout as fast as possible.

Usage: spew.py COUNT STAMPS

Each line is `@PID:SEQUENCE:xxx…` so that the harness can tell whose line it
is, which ones are missing, and whether a line arrived whole. The child
appends `start T` to STAMPS before its first line and `done T` after its last
(T from CLOCK_MONOTONIC, which every process on the machine shares). It then
stays alive until it is signalled: honcho stops every process as soon as one
exits, which would cut the others short.
"""

import os
import signal
import sys
import time

LINE_BYTES = 100
BATCH = 1000  # lines per write(): ~100 KB, more than a pipe holds


def main() -> None:
    count, stamps = int(sys.argv[1]), sys.argv[2]
    with open(stamps, "a") as f:
        f.write(f"start {time.monotonic()}\n")
    head = f"@{os.getpid()}:".encode()
    tail = b":" + b"x" * (LINE_BYTES - len(head) - 8 - 2) + b"\n"  # 8 digits, ':' and '\n'
    out = sys.stdout.buffer
    for first in range(0, count, BATCH):
        out.write(b"".join(b"%s%08d%s" % (head, seq, tail) for seq in range(first, min(first + BATCH, count))))
    out.flush()
    with open(stamps, "a") as f:
        f.write(f"done {time.monotonic()}\n")
    while True:
        signal.pause()


main()
