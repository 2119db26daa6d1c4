#!/usr/bin/env python3
"""Generate the Terragrunt tree from config.json: terraform/root.hcl and
terraform/region/<region>/terragrunt.hcl, one per region (docs/runbook.md, step 3).

A thin entry point to `kelev gen-config`, run from the repository's root whatever the current
directory; arguments are passed on (`--check` compares instead of writing). KELEV_BIN names a
built `kelev` to run instead of `cargo run -p kelev`.
"""

import os
import sys
from pathlib import Path


def main() -> None:
    os.chdir(Path(__file__).resolve().parent.parent)
    kelev = os.environ.get("KELEV_BIN")
    command = [kelev] if kelev else ["cargo", "run", "--quiet", "--release", "-p", "kelev", "--"]
    command += ["gen-config", *sys.argv[1:]]
    try:
        os.execvp(command[0], command)
    except OSError as e:
        sys.exit(f"error: cannot run `{command[0]}`: {e.strerror}")


if __name__ == "__main__":
    main()
