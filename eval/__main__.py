import signal
import sys

from eval.cli import main

# A CI timeout sends SIGTERM: exit through Python, so the temporary index folder is removed.
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
raise SystemExit(main())
