#!/usr/bin/env bash
# Allow SSH to the host from this machine: adds its public address to `allowed_ssh_cidrs` in
# config.json (idempotent), then regenerates the Terragrunt tree (scripts/gen_config.py). Apply
# with terragrunt after.
# Arguments are passed to `kelev allow-ssh` (e.g. --ip 203.0.113.7). KELEV_BIN names a built
# `kelev` to run instead of `cargo run -p kelev`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -n "${KELEV_BIN:-}" ]]; then
    kelev=("${KELEV_BIN}")
else
    kelev=(cargo run --quiet --release -p kelev --)
fi
"${kelev[@]}" allow-ssh "$@"
scripts/gen_config.py
