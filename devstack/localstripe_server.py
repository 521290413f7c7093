"""Run localstripe without its on-disk store.

localstripe pickles its whole store to the hard-coded ``/tmp/localstripe.pickle`` on every
write: two instances (the dev stack and a test run) would share that file, and the cost of each
write grows with the store. Our stacks are throw-away like the AWS emulator's, so we keep it in
memory only. This patches the stand-in, never our own code.
"""

from __future__ import annotations

import sys

from localstripe import resources, server


def main() -> None:
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    sys.argv = [sys.argv[0], *sys.argv[1:], "--from-scratch"]
    server.start()


if __name__ == "__main__":
    main()
