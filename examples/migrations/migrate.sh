#!/bin/sh
# Apply, in order, each /app/migrations/NNN-*.sh newer than the schema version recorded in
# /data/version, recording each one as it succeeds. The first to fail stops the run (and the
# deploy), with what it said as the task's last lines.
set -eu
version=$(cat /data/version 2>/dev/null || echo 0)
for migration in /app/migrations/[0-9][0-9][0-9]-*.sh; do
    number=$(basename "$migration" | cut -c1-3 | sed 's/^0*//')
    if [ "${number:-0}" -le "$version" ]; then
        continue
    fi
    echo "applying $(basename "$migration")"
    sh "$migration"
    echo "${number:-0}" > /data/version
done
echo "schema at version $(cat /data/version 2>/dev/null || echo 0)"
