"""python -m sandbox start|stop|status"""

from __future__ import annotations

import argparse
import sys

from .runner import SandboxError, start, status, stop


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sandbox", description="local server sandbox on 127.0.0.1")
    ap.add_argument("command", choices=["start", "stop", "status"])
    args = ap.parse_args(argv)
    if args.command == "start":
        try:
            start(wait=True, quiet=False)
        except SandboxError as exc:
            print(f"sandbox: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "stop":
        stop(quiet=False)
        return 0
    st = status(quiet=False)
    return 0 if all(s["healthy"] for s in st.values()) else 3


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        sys.exit(0)
