"""Steward: a commons resource stewardship monitor."""

import signal
import sys

if "--multiprocessing-fork" in sys.orig_argv:
    # A spawned forecast worker (multiprocessing marks its command line so; sys.argv
    # is the parent's by the time the worker imports its modules): Ctrl-C
    # reaches the whole process group, and each worker still importing printed a
    # KeyboardInterrupt traceback under `make demo`, read as a crash. The parent
    # stops its workers; this runs before the heavy imports a worker makes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
