"""``curate <command> ...``: the console entry point, one command per ``python -m curate.<command>`` module.

curate run fineweb_edu --dry-run        # = python -m curate.run fineweb_edu --dry-run
curate fetch fineweb_edu                # = python -m curate.fetch fineweb_edu
"""

import importlib
import sys

# command -> module whose main(argv) runs it
COMMANDS = {
    "run": "curate.run",
    "fetch": "curate.fetch",
    "annotate": "curate.annotate.__main__",
    "train": "curate.train",
    "push": "curate.push",
    "mix": "curate.mix",
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        usage = f"usage: curate {{{','.join(COMMANDS)}}} ... (curate <command> --help for its options)"
        if args and args[0] not in ("-h", "--help"):
            print(f"error: unknown command {args[0]!r}\n{usage}", file=sys.stderr)
            return 2
        print(usage, file=sys.stderr if not args else sys.stdout)
        return 0 if args else 2
    return importlib.import_module(COMMANDS[args[0]]).main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
