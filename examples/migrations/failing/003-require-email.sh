#!/bin/sh
# A migration that refuses: every guest must have an email before `email` may be required.
# Copy it into ../migrations/ and deploy to see a release task fail (see README.md).
set -eu
if grep -q ',$' /data/guests.csv; then
    echo "error: $(grep -c ',$' /data/guests.csv) guests have no email; backfill them first" >&2
    exit 1
fi
