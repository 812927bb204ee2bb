"""``python -m siting`` and the ``siting`` script: the command line."""

import signal
import sys


def _as_ctrl_c(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Run the command line; SIGTERM is Ctrl-C, and either before a command starts is one line.

    A command that writes installs its own handlers (``siting.engine.budget``).
    """
    signal.signal(signal.SIGTERM, _as_ctrl_c)
    try:
        from siting.cli import app

        app(prog_name="siting")
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: nothing was written\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
