#!/usr/bin/env bash
# Install or upgrade kelev-agent from a release, refusing any binary whose SHA-256 is not the one
# given or that does not report the version given. Idempotent: the same version twice changes nothing. The swap is atomic (a rename in the
# same directory) and the binary it replaces is kept as kelev-agent.previous, so a downgrade is
# `install-agent.sh <previous version> <its sha256>` or `mv kelev-agent.previous kelev-agent`.
#
# Usage: install-agent.sh VERSION SHA256 [URL]
#   URL defaults to ${KELEV_RELEASE_BASE}/v${VERSION}/kelev-agent-${VERSION}-$(uname -m)-linux-musl
#   (file:// works too). SHA256 is that file's line in the release's SHA256SUMS.
# Environment: KELEV_RELEASE_BASE (default https://github.com/OWNER/kelev/releases/download),
#   PREFIX (install below this root instead of /, for tests).
set -euo pipefail

die() { printf 'install-agent: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'install-agent: %s\n' "$*" >&2; }

version=${1:-}
sha256=${2:-}
[[ ${version} =~ ^[0-9]+\.[0-9]+\.[0-9]+([-.+][0-9A-Za-z.-]+)?$ ]] || die "usage: install-agent.sh VERSION SHA256 [URL] (VERSION like 1.2.3, not \`${version}\`)"
[[ ${sha256} =~ ^[0-9a-f]{64}$ ]] || die "SHA256 must be 64 lowercase hex digits, not \`${sha256}\`"
base=${KELEV_RELEASE_BASE:-https://github.com/OWNER/kelev/releases/download}
url=${3:-${base}/v${version}/kelev-agent-${version}-$(uname -m)-linux-musl}

dest="${PREFIX:-}/usr/local/bin/kelev-agent"
dir=$(dirname "${dest}")
mkdir -p "${dir}"

checksum() { sha256sum "$1" | cut -d' ' -f1; }

# verify FILE NAME: FILE must have the pinned SHA-256 and report the pinned version; sets
# `reported` to what it says.
verify() {
    local actual
    actual=$(checksum "$1")
    [[ ${actual} == "${sha256}" ]] ||
        die "$2 has sha256 ${actual}, not ${sha256}: refusing to install it (nothing was changed)"
    # Outside any SSH session's variables, so the agent answers as a local command.
    reported=$(env -u SSH_CONNECTION -u SSH_ORIGINAL_COMMAND "$1" version 2>&1) ||
        die "$2 does not run: ${reported}"
    [[ ${reported} == "kelev-agent ${version} "* ]] ||
        die "$2 says \`${reported}\`, not version ${version}: refusing it (nothing was changed)"
}

# The pinned checksum on an installed binary that reports another version means a pin whose
# two halves disagree: refused too, never "already installed".
if [[ -f ${dest} ]] && [[ "$(checksum "${dest}")" == "${sha256}" ]]; then
    verify "${dest}" "the installed ${dest}"
    log "kelev-agent ${version} is already installed at ${dest}"
    exit 0
fi

# In the destination's directory, so the final rename is atomic.
tmp=$(mktemp "${dir}/.kelev-agent.XXXXXX")
trap 'rm -f "${tmp}"' EXIT
curl -fsSL --retry 5 --retry-connrefused -o "${tmp}" "${url}" || die "could not download ${url}"
chmod 0755 "${tmp}"
verify "${tmp}" "${url}"

if [[ -f ${dest} ]]; then
    cp -p "${dest}" "${dest}.previous"
fi
mv -f "${tmp}" "${dest}"
trap - EXIT
log "installed ${reported} at ${dest}$([[ -f ${dest}.previous ]] && printf '; the one before is %s.previous' "${dest}")"
