#!/usr/bin/env bash
# Allow SSH to the host from this machine: adds its public address to `allowed_ssh_cidrs` in
# config.json (idempotent), then regenerates the Terragrunt tree. Apply with terragrunt after.
# Arguments are passed to `kelev allow-ssh` (e.g. --ip 203.0.113.7).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release -p kelev -- allow-ssh "$@"
cargo run --quiet --release -p kelev -- gen-config
