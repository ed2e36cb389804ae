"""``python -m curate.push <output-dir> <repo-id> [--private] [--revision R] [--dry-run] [--batch-files N]``.

Writes the dataset card into the output folder, then uploads it to a Hub dataset repo in batched commits.
A push that stopped (interrupted, rate-limited past the retries) resumes when run again: files already in
the repo with the same content are skipped. The token is read from an environment variable and never printed.
"""

import argparse
import os
import sys

from huggingface_hub.errors import HfHubHTTPError

from curate.publish.hub import HubAnswerError, PushPlan, describe_error, push_output
from curate.retry import is_connection_error


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m curate.push", description=__doc__)
    parser.add_argument("output_dir", help="a curate recipe output folder (data/, stats/, run.json)")
    parser.add_argument("repo_id", help="dataset repo, namespace/name")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument("--revision", help="branch to push to (created from main when missing; default: main)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; write nothing to the Hub")
    parser.add_argument("--batch-files", type=int, default=100, help="files per commit (default: 100)")
    parser.add_argument("--token-env", default="HF_TOKEN", help="environment variable holding the token")
    parser.add_argument("--endpoint", help="Hub base URL (default: HF_ENDPOINT or huggingface.co)")
    parser.add_argument("--no-card", action="store_true", help="do not (re)write README.md before pushing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    token = os.environ.get(args.token_env) or None
    if token is None and not args.dry_run:
        print(f"note: ${args.token_env} is not set; using the locally saved Hub login, if any", file=sys.stderr)
    try:
        result = push_output(
            args.output_dir,
            args.repo_id,
            token=token,
            endpoint=args.endpoint,
            private=args.private,
            revision=args.revision,
            batch_files=args.batch_files,
            dry_run=args.dry_run,
            card=not args.no_card,
        )
    except HubAnswerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else "?"
        print(f"error: the Hub refused the push (HTTP {status}, {type(error).__name__})", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError, PermissionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        if not is_connection_error(error):
            raise
        print(f"error: could not reach the Hub ({describe_error(error)}); rerun to resume", file=sys.stderr)
        return 1
    if isinstance(result, PushPlan):
        print(result.describe())
    else:
        print(
            f"pushed {len(result.uploaded)} files in {len(result.commits)} commit(s) to {args.repo_id}"
            f"@{args.revision or 'main'}; {len(result.skipped)} already there; {result.retries} retries"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
