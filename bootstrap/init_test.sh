#!/usr/bin/env bash
# Runs the parts of bootstrap/init.sh that can run off EC2, for real, against a temporary root
# (KELEV_BOOTSTRAP_ROOT): settings validation, finding and waiting for the data volume (a
# sparse image file behind a fake /dev/disk/by-id link, no loop device), mkfs only on a blank
# device, fstab, every rendered file (authorized_keys, sshd drop-in checked by the real `sshd -t`
# and `sshd -T`, agent.json accepted by the real kelev-agent, daemon.json, logrotate checked by
# `logrotate -d`, the Traefik .env checked by `docker compose config`), the install of the
# pinned kelev-agent release from a loopback web server standing in for GitHub's (checksum and
# version verified, mismatches refused), the signature check used for the CloudWatch agent, and
# idempotence (a second run changes nothing).
#
# What it cannot run (apt, mount, systemctl, useradd, dockerd, the CloudWatch agent, Traefik)
# is replaced by stubs that record their calls; docs/infrastructure.md lists them.
#
# Usage: KELEV_AGENT_BIN=target/debug/kelev-agent bootstrap/init_test.sh   (as root)
#        bootstrap/init_test.sh --run ROOT
#   --run: what cloud-init's runcmd does, with the same stubs: the init.sh that the user data's
#   write_files put in ROOT/opt/kelev/bootstrap runs its steps against ROOT, with its
#   ROOT/etc/kelev/bootstrap.json (tests/e2e/userdata.rs). DEPLOY_USER and DEPLOY_GROUP name
#   an existing user (default nobody:nogroup).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[[ ${EUID} -eq 0 ]] || {
    echo "init_test.sh: must run as root (it chowns files in its temporary root)" >&2
    exit 1
}

work=$(mktemp -d /tmp/kelev-init-test.XXXXXX)
server_pid=""
trap '[[ -z ${server_pid} ]] || kill "${server_pid}"; rm -rf "${work}"' EXIT
export DATA_DEVICE_TIMEOUT=20
if [[ ${1:-} == --run ]]; then
    R=$(realpath "${2:?usage: init_test.sh --run ROOT}")
    export KELEV_BOOTSTRAP_ROOT=${R} DEPLOY_USER=${DEPLOY_USER:-nobody} DEPLOY_GROUP=${DEPLOY_GROUP:-nogroup}
    # shellcheck source=bootstrap/init.sh
    source "${R}/opt/kelev/bootstrap/init.sh"
else
    : "${KELEV_AGENT_BIN:?set KELEV_AGENT_BIN to a built kelev-agent (scripts/check-infra does)}"
    KELEV_AGENT_BIN=$(realpath "${KELEV_AGENT_BIN}")
    R=${work}/root
    export KELEV_BOOTSTRAP_ROOT=${R}
    # Owners that exist on any Debian machine; on EC2 these are deploy:deploy (uid 2000).
    export DEPLOY_USER=nobody DEPLOY_GROUP=nogroup
    # shellcheck source=bootstrap/init.sh
    source "${here}/init.sh"
fi

# --- reporting -------------------------------------------------------------------------------
passed=0 failed=0
pass() {
    passed=$((passed + 1))
    printf 'ok      %s\n' "$1"
}
fail() {
    failed=$((failed + 1))
    printf 'FAILED  %s\n' "$1"
    [[ -z ${2:-} ]] || printf '%s\n' "$2" | sed 's/^/        /'
}
# attempt COMMAND...: run COMMAND in a subshell with `set -e` in force, as init.sh's main runs
# its steps; sets RC and OUT (stdout and stderr). Never called from a condition: bash ignores
# `set -e` in everything a condition (if, ||, &&) runs, functions included.
attempt() {
    local file=${work}/attempt.out
    set +e
    (
        set -eE
        trap on_error ERR
        "$@"
    ) >"${file}" 2>&1
    RC=$?
    set -e
    OUT=$(cat "${file}")
}
# expect NAME COMMAND...: COMMAND must succeed.
expect() {
    local name=$1
    shift
    attempt "$@"
    if ((RC == 0)); then pass "${name}"; else fail "${name}" "${OUT}"; fi
}
# expect_failure NAME PATTERN COMMAND...: COMMAND must fail with PATTERN in its output.
expect_failure() {
    local name=$1 pattern=$2
    shift 2
    attempt "$@"
    if ((RC == 0)); then
        fail "${name}" "succeeded, expected a failure matching: ${pattern}"$'\n'"${OUT}"
    elif grep -qE -- "${pattern}" <<<"${OUT}"; then
        pass "${name}"
    else
        fail "${name}" "failed without: ${pattern}"$'\n'"${OUT}"
    fi
}
lacks() { # lacks PATTERN TEXT: TEXT has no line matching PATTERN
    ! grep -qE -- "$1" <<<"$2"
}
same() { # same ACTUAL_TEXT EXPECTED_TEXT
    diff -u <(printf '%s\n' "$2") <(printf '%s\n' "$1")
}

# --- stubs for what only runs on EC2 ---------------------------------------------------------
calls=${work}/calls
: >"${calls}"
record() { printf '%s\n' "$*" >>"${calls}"; }
mount_data() { record "mount_data $1"; }
grow_filesystem() { record grow_filesystem; }
install_docker() { record "install_docker restart=$1"; }
ensure_deploy_user() { record ensure_deploy_user; }
reload_sshd() { record reload_sshd; }
restart_rsyslog() { record restart_rsyslog; }
install_cloudwatch_agent() { record install_cloudwatch_agent; }
start_cloudwatch_agent() { record start_cloudwatch_agent; }
start_traefik() { record start_traefik; }
enable_probe() { record enable_probe; }

# The machine as the AMI leaves it: an fstab, sshd's config and the host key cloud-init made;
# and the data volume, a sparse image behind a /dev/disk/by-id name (linked by the caller).
prepare_root() {
    mkdir -p "${R}/etc/kelev" "${R}/etc/ssh" "${R}/dev/disk/by-id" "${R}/opt/kelev/bootstrap/traefik"
    printf 'LABEL=cloudimg-rootfs\t/\text4\tdiscard,errors=remount-ro\t0 1\n' >"${R}/etc/fstab"
    ssh-keygen -q -t ed25519 -N '' -C first-instance -f "${R}/etc/ssh/ssh_host_ed25519_key"
    printf 'Include %s/etc/ssh/sshd_config.d/*.conf\nHostKey %s/etc/ssh/ssh_host_ed25519_key\n' "${R}" "${R}" >"${R}/etc/ssh/sshd_config"
    install -d -m 0755 /run/sshd # sshd -t wants its privilege separation directory
    disk=${work}/data.img
    truncate -s 64M "${disk}"
    link="${R}/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${1/-/}"
}

if [[ ${1:-} == --run ]]; then
    prepare_root "$(jq -r .data_volume_id "${R}${SETTINGS}")"
    ln -s "${disk}" "${link}"
    attempt run_steps
    printf '%s\n' "${OUT}" "stubbed: $(paste -sd' ' "${calls}")"
    exit "${RC}"
fi

# serve DIR: a loopback web server for DIR, standing in for GitHub's release downloads; sets
# SERVED to its base URL.
serve() {
    python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$1" >"${work}/http.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        SERVED=$(sed -nE 's|^Serving HTTP on .* port ([0-9]+) .*|http://127.0.0.1:\1|p' "${work}/http.log")
        [[ -z ${SERVED} ]] || return 0
        sleep 0.1
    done
    die "the release server did not start: $(cat "${work}/http.log")"
}

# --- fixture ---------------------------------------------------------------------------------
readonly VOLUME=vol-0123456789abcdef0
readonly KEY_CI="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILRJFBdQWcAq4qwqV+v+cFk5ZuL/IE98fSsbTl1y3umm ci"
readonly KEY_FUN="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0U3+vuwzuhyjcsVDABagA0/0wgAVZMfLNCUVhs9nV1 fun-ci"

# A release as release.yml publishes it (the binary named by version and arch, SHA256SUMS), of
# the built kelev-agent, and the pin gen-config would write for it.
AGENT_VERSION=$("${KELEV_AGENT_BIN}" version | cut -d' ' -f2)
AGENT_FILE=kelev-agent-${AGENT_VERSION}-x86_64-linux-musl
mkdir -p "${work}/releases/v${AGENT_VERSION}"
cp "${KELEV_AGENT_BIN}" "${work}/releases/v${AGENT_VERSION}/${AGENT_FILE}"
printf '#!/bin/sh\necho "kelev-agent 9.9.9 (commit test)"\n' >"${work}/releases/v${AGENT_VERSION}/impostor"
(cd "${work}/releases/v${AGENT_VERSION}" && sha256sum -- * >SHA256SUMS)
AGENT_SHA256=$(awk -v f="${AGENT_FILE}" '$2 == f {print $1}' "${work}/releases/v${AGENT_VERSION}/SHA256SUMS")
serve "${work}/releases"
AGENT_URL=${SERVED}/v${AGENT_VERSION}/${AGENT_FILE}

settings_json() { # settings_json [JQ_EDIT]
    jq -n --arg vol "${VOLUME}" --arg ci "${KEY_CI}" --arg fun "${KEY_FUN}" \
        --arg version "${AGENT_VERSION}" --arg sha256 "${AGENT_SHA256}" --arg url "${AGENT_URL}" '{
        name: "kelev", region: "eu-central-1", domain: "kelev.dev",
        log_group_name: "/kelev/kelev", metrics_namespace: "kelev/kelev",
        data_volume_id: $vol, acme_email: "ops@example.com", acme_staging: false,
        deploy_keys: {
            "ci": {public_key: $ci, verbs: ["*"], projects: ["*"]},
            "fun-ci": {public_key: $fun, verbs: ["deploy", "status"], projects: ["fun-n-games"]}
        },
        cloudwatch_agent_config: {agent: {run_as_user: "root"}, metrics: {namespace: "kelev"}},
        agent: {version: $version, sha256: $sha256, url: $url}
    }' | jq "${1:-.}"
}

prepare_root "${VOLUME}"
settings_json >"${R}${SETTINGS}"
cp "${here}/traefik/compose.yaml" "${R}/opt/kelev/bootstrap/traefik/compose.yaml"
cp "${here}/probe.sh" "${R}/opt/kelev/bootstrap/probe.sh"

snapshot() { # every file under the root with mode, owner and content hash
    (cd "${R}" && find . -printf '%p %y %m %u:%g %l\n' | sort &&
        find . -type f -print0 | sort -z | xargs -0 sha256sum)
    blkid -p -s UUID -o value "${disk}"
}

# --- settings --------------------------------------------------------------------------------
# shellcheck disable=SC2016 # the backticks are part of the expected messages
for case in \
    'bad volume id|.data_volume_id = "vol-xyz"|`data_volume_id` is not an EBS volume id' \
    'option smuggled into a key|.deploy_keys.ci.public_key = "command=\"sh\" " + .deploy_keys.ci.public_key|deploy key `ci`: `public_key` is not one OpenSSH public key line' \
    'quote in a key comment|.deploy_keys.ci.public_key += " \"x"|deploy key `ci`: `public_key`' \
    'key id with capitals|.deploy_keys.CI = .deploy_keys.ci|deploy key id `CI` must be' \
    'empty verbs|.deploy_keys.ci.verbs = []|deploy key `ci`: `verbs` must be' \
    'project with a slash|.deploy_keys.ci.projects = ["../x"]|deploy key `ci`: `projects` must be' \
    'acme_staging as a string|.acme_staging = "no"|`acme_staging` is not true or false' \
    'plain-http ACME CA|.acme_ca_server = "http://ca.example/dir"|`acme_ca_server` is not an https:// URL' \
    'ACME CA root not PEM|.acme_ca_certificate = "MIIB"|`acme_ca_certificate` is not a PEM certificate' \
    'no agent pin|del(.agent)|`agent` \(the kelev-agent release pin\) is missing' \
    'agent version with its v|.agent.version = "v0.1.0"|`agent.version` is not a release version' \
    'agent sha256 too short|.agent.sha256 = "abc"|`agent.sha256` is not 64 lowercase hex digits' \
    'agent url over ftp|.agent.url = "ftp://example.com/a"|`agent.url` is not an http\(s\) URL'; do
    IFS='|' read -r name edit message <<<"${case}"
    settings_json "${edit}" >"${work}/bad.json"
    expect_failure "settings refused: ${name}" "${message}" load_settings "${work}/bad.json"
done
printf '{' >"${work}/broken.json"
expect_failure "settings refused: not JSON" "is not valid JSON" load_settings "${work}/broken.json"
expect "settings accepted: the fixture" load_settings "${R}${SETTINGS}"

# --- data volume: waiting, mkfs only when blank ----------------------------------------------
expect_failure "a volume that never attaches times out" "did not attach within 1 s" \
    wait_for_data_device vol-0fedcba9876543210 1
(sleep 2 && ln -s "${disk}" "${link}") &
attach=$!

expect "first run: every step" run_steps
first_log=${OUT}
wait "${attach}"
expect "first run: waited for the volume to attach" grep -q "waiting for data volume ${VOLUME} to attach" <<<"${first_log}"
expect "first run: blank device got ext4 labelled ${DATA_LABEL}" \
    bash -c "blkid -p -o export '${disk}' | grep -qx TYPE=ext4 && blkid -p -o export '${disk}' | grep -qx LABEL=${DATA_LABEL}"
uuid=$(blkid -p -s UUID -o value "${disk}")
expect "fstab: the root line kept, one data line by UUID with nofail" same "$(cat "${R}/etc/fstab")" \
    "$(printf 'LABEL=cloudimg-rootfs\t/\text4\tdiscard,errors=remount-ro\t0 1')
UUID=${uuid} /srv ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2 # kelev-data"
expect "mount_data got the filesystem's UUID" grep -qx "mount_data ${uuid}" "${calls}"

expect "first run: the host key saved on the data volume" same \
    "$(cmp "${R}/etc/ssh/ssh_host_ed25519_key" "${R}/srv/ssh-host-keys/ssh_host_ed25519_key" &&
        stat -c '%a %U' "${R}/srv/ssh-host-keys" "${R}/srv/ssh-host-keys/ssh_host_ed25519_key" "${R}/srv/ssh-host-keys/ssh_host_ed25519_key.pub")" \
    "700 root
600 root
644 root"

# --- rendered files --------------------------------------------------------------------------
expect "authorized_keys: one restrict,command= line per key" same "$(cat "${R}/etc/ssh/authorized_keys/nobody")" \
    "# Written by kelev bootstrap/init.sh from the host module's deploy_keys; rewritten on every run.
restrict,command=\"/usr/local/bin/kelev-agent --key ci\" ${KEY_CI}
restrict,command=\"/usr/local/bin/kelev-agent --key fun-ci\" ${KEY_FUN}"
# The check docs/security.md gives the operator: must print 0.
expect "authorized_keys: the docs' check prints 0" same \
    "$(grep -Ev '^(#|$)' "${R}/etc/ssh/authorized_keys/nobody" | grep -vc '^restrict,command="/usr/local/bin/kelev-agent --key ' || true)" 0
expect "authorized_keys: root-owned, 0644" same "$(stat -c '%U:%G %a' "${R}/etc/ssh/authorized_keys/nobody" "${R}/etc/ssh/authorized_keys")" \
    "root:root 644
root:root 755"

expect "sshd -t accepts the drop-in" /usr/sbin/sshd -t -f "${R}/etc/ssh/sshd_config"
effective=$(/usr/sbin/sshd -T -f "${R}/etc/ssh/sshd_config" -C user=nobody,host=ci.example.net,addr=203.0.113.7 |
    grep -Ei '^(authorizedkeysfile|passwordauthentication|kbdinteractiveauthentication|disableforwarding|permittty|permituserrc|permituserenvironment|permitrootlogin) ' | sort)
expect "sshd -T for the deploy user: keys from /etc, no forwarding, tty, rc, passwords" same "${effective}" \
    "authorizedkeysfile /etc/ssh/authorized_keys/%u
disableforwarding yes
kbdinteractiveauthentication no
passwordauthentication no
permitrootlogin no
permittty no
permituserenvironment no
permituserrc no"
other=$(/usr/sbin/sshd -T -f "${R}/etc/ssh/sshd_config" -C user=ubuntu,host=laptop.example.net,addr=203.0.113.7 |
    grep -Ei '^(disableforwarding|permittty) ' | sort)
expect "sshd -T for the admin user: the Match block does not apply" same "${other}" \
    "disableforwarding no
permittty yes"

expect "agent.json: root, Traefik names, one policy per key" same "$(jq -S . "${R}/etc/kelev/agent.json")" \
    "$(jq -S . <<'EOF'
{"root": "/srv/kelev",
 "traefik": {"network": "web", "entrypoints": ["websecure"], "cert_resolver": "letsencrypt",
             "api": "http://127.0.0.1:8080"},
 "keys": {"ci": {"verbs": ["*"], "projects": ["*"]},
          "fun-ci": {"verbs": ["deploy", "status"], "projects": ["fun-n-games"]}}}
EOF
)"

expect "daemon.json: data-root on the data volume, awslogs to the log group, a local copy" same \
    "$(jq -cS . "${R}/etc/docker/daemon.json")" \
    '{"data-root":"/srv/docker","live-restore":true,"log-driver":"awslogs","log-opts":{"awslogs-group":"/kelev/kelev","awslogs-region":"eu-central-1","cache-max-file":"5","cache-max-size":"20m","max-buffer-size":"4m","mode":"non-blocking","tag":"{{.Name}}"}}'
expect "probe.env: the manifest, namespace and region" same "$(grep -v '^#' "${R}/etc/kelev/probe.env")" \
    "KELEV_PROBE_MANIFEST=/srv/kelev/projects.json
KELEV_PROBE_NAMESPACE=kelev/kelev
KELEV_PROBE_REGION=eu-central-1"
if command -v systemd-analyze >/dev/null; then
    expect "kelev-probe.service and .timer: systemd-analyze verify accepts them" \
        bash -c "cd '${R}/etc/systemd/system' && cp '${here}/probe.sh' '${work}/probe.sh' &&
            sed 's|^ExecStart=.*|ExecStart=${work}/probe.sh|; s|^User=.*|User=root|; s|^EnvironmentFile=.*|EnvironmentFile=${R}/etc/kelev/probe.env|' kelev-probe.service >'${work}/kelev-probe.service' &&
            cp kelev-probe.timer '${work}/' && systemd-analyze verify '${work}/kelev-probe.service' '${work}/kelev-probe.timer' 2>&1 | (! grep .)"
fi
expect "docker.service needs the data mount" grep -qx 'RequiresMountsFor=/srv' \
    "${R}/etc/systemd/system/docker.service.d/kelev.conf"
expect "data volume directories: modes and owners" same \
    "$(cd "${R}/srv" && stat -c '%n %a %U:%G' . docker traefik home home/nobody kelev)" \
    ". 755 root:root
docker 710 root:root
traefik 700 root:root
home 755 root:root
home/nobody 750 nobody:nogroup
kelev 750 nobody:nogroup"

if command -v logrotate >/dev/null; then
    expect "logrotate -d accepts the config" logrotate -d "${R}/etc/logrotate.d/kelev"
else
    fail "logrotate -d accepts the config" "logrotate is not installed (scripts/setup installs it)"
fi

expect "cloudwatch agent config: written as given" same \
    "$(jq -cS . "${R}/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json")" \
    '{"agent":{"run_as_user":"root"},"metrics":{"namespace":"kelev"}}'

expect "traefik .env: production CA and acme.json" same "$(grep -v '^#' "${R}/opt/kelev/traefik/.env")" \
    "KELEV_ACME_EMAIL=ops@example.com
KELEV_ACME_CA_SERVER=https://acme-v02.api.letsencrypt.org/directory
KELEV_ACME_STORAGE=acme.json
KELEV_TRAEFIK_DATA=/srv/traefik
KELEV_TRAEFIK_API=true
KELEV_TRAEFIK_DASHBOARD=false"
expect "traefik: acme storage files are 0600 root" same \
    "$(stat -c '%n %a %U' "${R}/srv/traefik/acme.json" "${R}/srv/traefik/acme-staging.json")" \
    "${R}/srv/traefik/acme.json 600 root
${R}/srv/traefik/acme-staging.json 600 root"
compose_out=${work}/compose-config.yaml
expect "traefik: docker compose config accepts the project and its .env" \
    bash -c "docker compose --project-directory '${R}/opt/kelev/traefik' config >'${compose_out}'"
for flag in --providers.docker.exposedbydefault=false --providers.docker.network=web \
    --entrypoints.websecure.address=:443 --certificatesresolvers.letsencrypt.acme.httpchallenge.entrypoint=web \
    --certificatesresolvers.letsencrypt.acme.storage=/letsencrypt/acme.json --api.dashboard=false \
    --api.insecure=true --serverstransport.forwardingtimeouts.dialtimeout=1s; do
    expect "traefik: compose config has ${flag}" grep -qF -- "- ${flag}" "${compose_out}"
done
expect "traefik: the docker socket is mounted read-only" \
    bash -c "grep -A3 'target: /var/run/docker.sock' '${compose_out}' | grep -q 'read_only: true'"

expect "first run: started what only runs on EC2" same "$(grep -v '^mount_data' "${calls}")" \
    "grow_filesystem
install_docker restart=1
ensure_deploy_user
reload_sshd
restart_rsyslog
install_cloudwatch_agent
start_cloudwatch_agent
start_traefik
enable_probe"

# --- idempotence -----------------------------------------------------------------------------
before=$(snapshot)
: >"${calls}"
expect "second run: every step" run_steps
second_log=${OUT}
expect "second run: same files, modes, owners and filesystem UUID" same "$(snapshot)" "${before}"
expect "second run: wrote nothing" lacks " wrote " "${second_log}"
expect "second run: kept the filesystem" grep -q "already has an ext4 filesystem (LABEL=${DATA_LABEL})" <<<"${second_log}"
expect "second run: no reloads or restarts" same "$(grep -v '^mount_data' "${calls}")" \
    "grow_filesystem
install_docker restart=0
ensure_deploy_user
install_cloudwatch_agent
start_traefik"

# --- a new instance on the same data volume keeps the host key -------------------------------
rm "${R}/etc/ssh/ssh_host_ed25519_key" "${R}/etc/ssh/ssh_host_ed25519_key.pub"
ssh-keygen -q -t ed25519 -N '' -C second-instance -f "${R}/etc/ssh/ssh_host_ed25519_key"
: >"${calls}"
new_instance() {
    load_settings "$(path "${SETTINGS}")"
    step_ssh
}
expect "new instance: the host key comes back from the data volume" new_instance
expect "new instance: /etc/ssh has the first instance's key again" same \
    "$(cut -d' ' -f3 "${R}/etc/ssh/ssh_host_ed25519_key.pub"; stat -c '%a' "${R}/etc/ssh/ssh_host_ed25519_key")" \
    "first-instance
600"
expect "new instance: sshd -t accepts it, and sshd was reloaded" same \
    "$(/usr/sbin/sshd -t -f "${R}/etc/ssh/sshd_config" && cat "${calls}")" reload_sshd

# --- staging switch --------------------------------------------------------------------------
staging_env() {
    settings_json '.acme_staging = true' >"${work}/staging.json"
    load_settings "${work}/staging.json"
    render_traefik_env | grep -v '^#'
}
expect "staging switch: .env names the staging CA and its own storage file" same "$(staging_env)" \
    "KELEV_ACME_EMAIL=ops@example.com
KELEV_ACME_CA_SERVER=https://acme-staging-v02.api.letsencrypt.org/directory
KELEV_ACME_STORAGE=acme-staging.json
KELEV_TRAEFIK_DATA=/srv/traefik
KELEV_TRAEFIK_API=true
KELEV_TRAEFIK_DASHBOARD=false"

# --- an ACME CA of one's own ------------------------------------------------------------------
own_ca() {
    settings_json '.acme_ca_server = "https://ca.example:14000/dir"
        | .acme_ca_certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"' \
        >"${R}${SETTINGS}"
    load_settings "${R}${SETTINGS}"
    step_traefik 2>/dev/null
    grep -v '^#' "${R}/opt/kelev/traefik/.env"
    stat -c '%a %U' "${R}/srv/traefik/acme-ca.pem"
    head -n 1 "${R}/srv/traefik/acme-ca.pem"
}
expect "own ACME CA: .env names it and its root; the root is on the data volume" same "$(own_ca)" \
    "KELEV_ACME_EMAIL=ops@example.com
KELEV_ACME_CA_SERVER=https://ca.example:14000/dir
KELEV_ACME_STORAGE=acme.json
KELEV_TRAEFIK_DATA=/srv/traefik
KELEV_TRAEFIK_API=true
KELEV_TRAEFIK_DASHBOARD=false
KELEV_ACME_CA_CERTIFICATES=/letsencrypt/acme-ca.pem
644 root
-----BEGIN CERTIFICATE-----"
expect "own ACME CA: compose passes the root to lego" bash -c \
    "docker compose --project-directory '${R}/opt/kelev/traefik' config | grep -qF 'LEGO_CA_CERTIFICATES: /letsencrypt/acme-ca.pem'"
back_to_lets_encrypt() {
    settings_json >"${R}${SETTINGS}"
    load_settings "${R}${SETTINGS}"
    step_traefik 2>/dev/null
    [[ ! -e ${R}/srv/traefik/acme-ca.pem ]] && ! grep -q CA_CERTIFICATES "${R}/opt/kelev/traefik/.env"
}
expect "own ACME CA: removing the settings removes the root" back_to_lets_encrypt

# --- a restored snapshot and other devices are never reformatted -----------------------------
restored=${work}/restored.img
truncate -s 32M "${restored}"
mkfs.ext4 -q -L kelev-data "${restored}"
echo "state from the snapshot" >"${work}/marker"
debugfs -w -R "write ${work}/marker marker" "${restored}" >/dev/null 2>&1
restored_uuid=$(blkid -p -s UUID -o value "${restored}")
expect "restored snapshot: filesystem kept" ensure_filesystem "${restored}"
expect "restored snapshot: same UUID, data still there" same \
    "$(blkid -p -s UUID -o value "${restored}") $(debugfs -R 'cat /marker' "${restored}" 2>/dev/null)" \
    "${restored_uuid} state from the snapshot"

partitioned=${work}/partitioned.img
truncate -s 16M "${partitioned}"
printf '\x00\x20\x21\x00\x83\x00\x00\x00\x00\x08\x00\x00\x00\x78\x00\x00' |
    dd of="${partitioned}" bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of="${partitioned}" bs=1 seek=510 conv=notrunc status=none
expect_failure "a partitioned device is refused" "holds a partition table" ensure_filesystem "${partitioned}"
swap=${work}/swap.img
truncate -s 16M "${swap}"
chmod 0600 "${swap}"
mkswap -q "${swap}" 2>/dev/null
expect_failure "a device holding something else (swap) is refused" "holds something other than ext4 \(TYPE=swap\)" \
    ensure_filesystem "${swap}"
# shellcheck disable=SC2317 # the stand-ins are called by ensure_filesystem
blkid_fails() { # attempt runs it in a subshell: the stand-ins do not leak
    blkid() { return 4; }
    mkfs.ext4() { echo "mkfs ran"; }
    ensure_filesystem "${work}/unprobed.img"
}
expect_failure "a blkid failure stops before mkfs" "blkid could not probe .* \(exit 4\)" blkid_fails
expect "a blkid failure stops before mkfs: mkfs never ran" lacks "mkfs ran" "${OUT}"

# --- a broken sshd drop-in is refused and the previous one put back --------------------------
good_dropin=$(cat "${R}/etc/ssh/sshd_config.d/kelev.conf")
# shellcheck disable=SC2317 # the stand-in is called by step_ssh
broken_dropin() {
    render_sshd_dropin() { echo 'NoSuchOption yes'; }
    load_settings "$(path "${SETTINGS}")"
    step_ssh
}
: >"${calls}"
expect_failure "sshd drop-in: sshd -t failure is refused" "sshd -t refused the new" broken_dropin
expect "sshd drop-in: sshd was not reloaded" same "$(cat "${calls}")" ""
expect "sshd drop-in: the previous one is back" same "$(cat "${R}/etc/ssh/sshd_config.d/kelev.conf")" "${good_dropin}"

# --- kelev-agent: the pinned release, verified --------------------------------------------
agent_dest=${R}/usr/local/bin/kelev-agent
agent_inode=$(stat -c %i "${agent_dest}")
agent_with() { # agent_with JQ_EDIT: step 6 with the pin edited
    settings_json "$1" >"${work}/pinned.json"
    load_settings "${work}/pinned.json"
    step_agent
}
unchanged() { # the first run's binary, the same file, nothing beside it
    same "$(stat -c %i "${agent_dest}") $(cmp "${agent_dest}" "${KELEV_AGENT_BIN}" && echo same)
$(ls -A "${R}/usr/local/bin")" "${agent_inode} same
kelev-agent"
}
agent_json=$(cat "${R}/etc/kelev/agent.json")
expect_failure "agent.json: the installed kelev-agent refuses a verb it does not know" \
    "error: config \`/dev/stdin\`: key \`ci\`: \`verbs\`: unknown verb \`depoy\`" agent_with '.deploy_keys.ci.verbs = ["depoy"]'
expect "agent.json: ... and stops init.sh, the previous one kept" same \
    "$(grep -c 'kelev-agent refused the new agent.json' <<<"${OUT}") $(cat "${R}/etc/kelev/agent.json")" "1 ${agent_json}"
expect "kelev-agent: the first run installed the pinned release from the server" \
    grep -q "install-agent: installed kelev-agent ${AGENT_VERSION} " <<<"${first_log}"
expect "kelev-agent: it is the served binary, 0755 root" same \
    "$(stat -c '%a %U' "${agent_dest}") $(cmp "${agent_dest}" "${KELEV_AGENT_BIN}" && echo same)" "755 root same"
expect "kelev-agent: the second run found it installed" \
    grep -q "kelev-agent ${AGENT_VERSION} is already installed" <<<"${second_log}"
expect_failure "kelev-agent: a wrong sha256 is refused" \
    "has sha256 ${AGENT_SHA256}, not 0{64}: refusing to install it \(nothing was changed\)" \
    agent_with ".agent.sha256 = \"$(printf '0%.0s' {1..64})\""
expect "kelev-agent: ... and stops init.sh" grep -q "kelev-agent ${AGENT_VERSION} was not installed" <<<"${OUT}"
expect "kelev-agent: ... nothing changed" unchanged
impostor_sha=$(awk '$2 == "impostor" {print $1}' "${work}/releases/v${AGENT_VERSION}/SHA256SUMS")
expect_failure "kelev-agent: a binary reporting another version is refused" \
    "says \`kelev-agent 9.9.9 \(commit test\)\`, not version ${AGENT_VERSION}: refusing it \(nothing was changed\)" \
    agent_with ".agent.sha256 = \"${impostor_sha}\" | .agent.url = \"${SERVED}/v${AGENT_VERSION}/impostor\""
expect "kelev-agent: ... nothing changed" unchanged
expect_failure "kelev-agent: the installed binary pinned under another version is refused" \
    "the installed .* says \`kelev-agent ${AGENT_VERSION} .*\`, not version 9.9.9" agent_with '.agent.version = "9.9.9"'
expect "kelev-agent: ... nothing changed" unchanged
expect_failure "kelev-agent: a release the server does not have stops init.sh" \
    "could not download ${SERVED}/v9.9.9/" agent_with ".agent.version = \"9.9.9\" | .agent.sha256 = \"${impostor_sha}\" | .agent.url = \"${SERVED}/v9.9.9/x\""
expect "kelev-agent: ... nothing changed" unchanged
load_settings "${R}${SETTINGS}"

# --- the signature check used for the CloudWatch agent ---------------------------------------
gpghome=${work}/gnupg
install -d -m 0700 "${gpghome}"
GNUPGHOME=${gpghome} gpg --batch --quiet --passphrase '' --quick-gen-key 'kelev test <test@example.invalid>' ed25519 sign never 2>/dev/null
fingerprint=$(GNUPGHOME=${gpghome} gpg --batch --with-colons --fingerprint test@example.invalid 2>/dev/null | awk -F: '$1 == "fpr" {print $10; exit}')
GNUPGHOME=${gpghome} gpg --batch --armor --export test@example.invalid >"${work}/key.asc" 2>/dev/null
echo "package bytes" >"${work}/package.deb"
GNUPGHOME=${gpghome} gpg --batch --quiet --detach-sign -o "${work}/package.deb.sig" "${work}/package.deb" 2>/dev/null
expect "signature: good signature by the expected key" \
    verify_signed_file "${work}/package.deb" "${work}/package.deb.sig" "${work}/key.asc" "${fingerprint}"
expect_failure "signature: a signature by another key is refused" "no good signature by 937616F3450B7D806CBD9725D58167303B789C72" \
    verify_signed_file "${work}/package.deb" "${work}/package.deb.sig" "${work}/key.asc" "${CLOUDWATCH_KEY_FINGERPRINT}"
echo "tampered" >>"${work}/package.deb"
expect_failure "signature: a changed file is refused" "no good signature by ${fingerprint}" \
    verify_signed_file "${work}/package.deb" "${work}/package.deb.sig" "${work}/key.asc" "${fingerprint}"

echo
echo "${passed} passed, ${failed} failed"
((failed == 0))
