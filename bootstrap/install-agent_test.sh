#!/usr/bin/env bash
# bootstrap/install-agent.sh against a temporary prefix, with fake releases served over file://:
# install, idempotence, upgrade keeping the previous binary, downgrade, and refusals (a wrong
# checksum, a binary reporting another version, a bad argument) that change nothing.
# Usage: KELEV_AGENT_BIN=target/debug/kelev-agent bootstrap/install-agent_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

script="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/install-agent.sh"
agent=${KELEV_AGENT_BIN:-target/debug/kelev-agent}
[[ -x ${agent} ]] || { echo "build ${agent} first" >&2; exit 1; }
real_version=$("${agent}" version | cut -d' ' -f2)
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
passed=0 failed=0

check() { # check DESCRIPTION COMMAND...: the command must succeed
    if "${@:2}" >"${work}/out" 2>&1; then passed=$((passed + 1)); else
        failed=$((failed + 1)); printf 'FAIL: %s\n' "$1"; sed 's/^/    /' "${work}/out"; fi
}
refused() { # refused DESCRIPTION COMMAND...: the command must fail
    if "${@:2}" >"${work}/out" 2>&1; then
        failed=$((failed + 1)); printf 'FAIL (not refused): %s\n' "$1"; sed 's/^/    /' "${work}/out"
    else passed=$((passed + 1)); fi
}
sum() { sha256sum "$1" | cut -d' ' -f1; }

# Two "releases": the real binary (reports ${real_version}) and a shell stand-in for 0.0.1.
mkdir -p "${work}/rel"
cp "${agent}" "${work}/rel/new"
printf '#!/bin/sh\necho "kelev-agent 0.0.1 (commit test)"\n' >"${work}/rel/old"
chmod +x "${work}/rel/old"
export PREFIX="${work}/root"
dest="${PREFIX}/usr/local/bin/kelev-agent"

check "installs the old release" "${script}" 0.0.1 "$(sum "${work}/rel/old")" "file://${work}/rel/old"
check "it is the old one" cmp "${dest}" "${work}/rel/old"
before=$(stat -c %i "${dest}")
check "the same again changes nothing" "${script}" 0.0.1 "$(sum "${work}/rel/old")" "file://${work}/rel/old"
check "not even the inode" test "$(stat -c %i "${dest}")" = "${before}"
refused "the installed checksum pinned under another version (never \"already installed\")" \
    "${script}" 0.0.2 "$(sum "${work}/rel/old")" "file://${work}/rel/old"
cp "${work}/out" "${work}/refused"
# shellcheck disable=SC2016 # the backticks are part of the message
check "... says which version the binary reports" grep -q 'says `kelev-agent 0.0.1 (commit test)`, not version 0.0.2' "${work}/refused"
check "... and changes nothing" test "$(stat -c %i "${dest}")" = "${before}"

refused "a wrong checksum" "${script}" "${real_version}" "$(printf 'a%.0s' {1..64})" "file://${work}/rel/new"
check "... leaves the old one" cmp "${dest}" "${work}/rel/old"
check "... and no temp file" test -z "$(find "${PREFIX}/usr/local/bin" -name '.kelev-agent.*')"
refused "a binary reporting another version" "${script}" 9.9.9 "$(sum "${work}/rel/new")" "file://${work}/rel/new"
check "... leaves the old one" cmp "${dest}" "${work}/rel/old"
refused "a download that fails" "${script}" 0.0.2 "$(sum "${work}/rel/new")" "file://${work}/rel/missing"
refused "a version that is not one" "${script}" "1;rm" "$(sum "${work}/rel/old")" "file://${work}/rel/old"
refused "a checksum that is not one" "${script}" 0.0.1 "ABC" "file://${work}/rel/old"

check "upgrades" "${script}" "${real_version}" "$(sum "${work}/rel/new")" "file://${work}/rel/new"
check "the new one runs" "${dest}" version
check "the old one is kept" cmp "${dest}.previous" "${work}/rel/old"
check "downgrades" "${script}" 0.0.1 "$(sum "${work}/rel/old")" "file://${work}/rel/old"
check "back to the old one" cmp "${dest}" "${work}/rel/old"
check "and the new one is now the previous" cmp "${dest}.previous" "${work}/rel/new"

# docs/runbook.md, "Upgrade" and "Downgrade", step by step against the prefix: a release
# directory as release.yml publishes it (binary named by version and arch, SHA256SUMS).
release="${work}/release/v${real_version}"
mkdir -p "${release}"
bin="kelev-agent-${real_version}-$(uname -m)-linux-musl"
cp "${agent}" "${release}/${bin}"
cp "${work}/rel/old" "${release}/kelev-agent-0.0.1-$(uname -m)-linux-musl"
(cd "${release}" && sha256sum -- kelev* >SHA256SUMS)
download="${work}/download"
mkdir -p "${download}"
cp "${release}/SHA256SUMS" "${release}/${bin}" "${download}/"
check "runbook: sha256sum --check passes on the download" \
    bash -c "cd '${download}' && sha256sum --check --ignore-missing SHA256SUMS"
sum=$(awk -v f="${bin}" '$2 == f {print $1}' "${download}/SHA256SUMS")
check "runbook: install-agent.sh with the listed sum" "${script}" "${real_version}" "${sum}" "file://${download}/${bin}"
check "runbook: the new version answers" bash -c "env -u SSH_CONNECTION '${dest}' version | grep -q '^kelev-agent ${real_version} '"
check "runbook: the one before is kept" test -f "${dest}.previous"
check "runbook: downgrade by renaming .previous back" mv "${dest}.previous" "${dest}"
check "runbook: ... which is the old one again" cmp "${dest}" "${work}/rel/old"
printf 'tampered' >>"${download}/${bin}"
refused "runbook: a tampered download fails sha256sum --check" \
    bash -c "cd '${download}' && sha256sum --check --ignore-missing SHA256SUMS"
refused "runbook: ... and install-agent.sh refuses it too" "${script}" "${real_version}" "${sum}" "file://${download}/${bin}"
check "runbook: ... leaving the old one" cmp "${dest}" "${work}/rel/old"

printf 'install-agent: %d passed, %d failed\n' "${passed}" "${failed}"
((failed == 0))
