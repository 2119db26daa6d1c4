#!/usr/bin/env bash
# kelev host bootstrap: turns a fresh Ubuntu 22.04 EC2 instance into a kelev host.
#
# cloud-init runs it once per instance: the host module's user data writes it to
# /opt/kelev/bootstrap/init.sh, the Traefik project to /opt/kelev/bootstrap/traefik/, and the
# settings (volume id, deploy keys, CloudWatch agent config, ...) to /etc/kelev/bootstrap.json.
# Every step looks before it acts, so running it again by hand is safe and changes only what
# differs:
#
#   sudo /opt/kelev/bootstrap/init.sh          # log: /var/log/kelev-init.log
#
# Steps, in order:
#   1 packages     jq, curl, gpg, e2fsprogs, logrotate, awscli (apt, retried until the network
#                  is up)
#   2 data volume  wait for the EBS volume (by its id) to attach; make an ext4 filesystem only
#                  if the device holds no signature at all (never over a restored snapshot);
#                  mount it on /srv by UUID with `nofail`; grow the filesystem to the volume
#   3 docker       daemon.json (data-root /srv/docker; every container's output to CloudWatch
#                  Logs through the awslogs driver, one stream per container, with a local copy
#                  for `docker logs`) before the engine's first start; docker.io and
#                  docker-compose-v2 from Ubuntu
#   4 deploy user  uid/gid 2000 (stable across instances: files on /srv keep their owner),
#                  home /srv/home/deploy, in group docker
#   5 ssh          root-owned /etc/ssh/authorized_keys/deploy (`restrict,command=` lines) and
#                  /etc/ssh/sshd_config.d/kelev.conf, checked with `sshd -t` before a reload;
#                  the host keys kept on the data volume, so a new instance keeps the host's
#                  identity (and CI's pinned known_hosts line stays valid)
#   6 agent        /etc/kelev/agent.json; kelev-agent from the release bootstrap.json pins
#                  (`agent`: version, sha256, url; config.json's pin through gen-config)
#   7 logs         logrotate for audit.log and the kelev logs; rsyslog copies the agent's syslog
#                  lines to /var/log/kelev-agent.log
#   8 cloudwatch   the CloudWatch agent (.deb checked against AWS's signing key) with the
#                  config from bootstrap.json
#   9 traefik      /srv/traefik (acme.json, mode 600), the `web` network, `docker compose up`
#  10 probe        kelev-probe.timer: every minute probe.sh requests each project's domains
#                  through Traefik and publishes `site_up` and `certificate_days` to CloudWatch
#
# bootstrap/init_test.sh (run by scripts/check-infra) sources this file with
# KELEV_BOOTSTRAP_ROOT set to a temporary directory: every path below goes through `path`, and
# the functions that change the running system (apt, mount, systemctl, useradd, docker) are
# replaced there. docs/infrastructure.md lists which steps run for real in that test and which
# only on EC2.
set -euo pipefail
# Command substitutions fail with the command that failed in them (render_to relies on it).
shopt -s inherit_errexit

# --- constants -----------------------------------------------------------------------------
readonly DATA_MOUNT=/srv
readonly DATA_LABEL=kelev-data
readonly AGENT_ROOT=/srv/kelev
readonly DOCKER_ROOT=/srv/docker
readonly TRAEFIK_DATA=/srv/traefik
readonly TRAEFIK_PROJECT=/opt/kelev/traefik
readonly HOST_KEYS=/srv/ssh-host-keys
readonly SETTINGS=/etc/kelev/bootstrap.json
readonly LOG_FILE=/var/log/kelev-init.log
readonly PROBE_ENV=/etc/kelev/probe.env
# The names the agent writes into its Traefik labels (agent/src/config.rs defaults); the
# Traefik project in bootstrap/traefik/compose.yaml defines the same ones.
readonly TRAEFIK_NETWORK=web
readonly TRAEFIK_ENTRYPOINT=websecure
readonly TRAEFIK_CERT_RESOLVER=letsencrypt
readonly ACME_CA_PRODUCTION=https://acme-v02.api.letsencrypt.org/directory
readonly ACME_CA_STAGING=https://acme-staging-v02.api.letsencrypt.org/directory
# The root of an ACME CA of one's own (`acme_ca_certificate`), in TRAEFIK_DATA.
readonly ACME_CA_FILE=acme-ca.pem
# The CloudWatch agent's signing key (AWS docs, "Verify the signature of the CloudWatch agent
# package").
readonly CLOUDWATCH_KEY_FINGERPRINT=937616F3450B7D806CBD9725D58167303B789C72
readonly CLOUDWATCH_BASE_URL=https://amazoncloudwatch-agent.s3.amazonaws.com

# Overridable for the test harness only.
DEPLOY_USER=${DEPLOY_USER:-deploy}
DEPLOY_UID=${DEPLOY_UID:-2000}
DEPLOY_GROUP=${DEPLOY_GROUP:-deploy}
DATA_DEVICE_TIMEOUT=${DATA_DEVICE_TIMEOUT:-600}
ROOT=${KELEV_BOOTSTRAP_ROOT:-}

log() { printf '%s init.sh: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }
# The ERR trap (set in main): `set -e` stops silently otherwise.
on_error() {
    local status=$?
    log "ERROR: \`${BASH_COMMAND}\` exited ${status} (${FUNCNAME[1]:-main}, line ${BASH_LINENO[0]})"
}
warn() { log "WARNING: $*"; }
die() {
    log "ERROR: $*"
    exit 1
}

# The real path of an absolute path on the host (under KELEV_BOOTSTRAP_ROOT in tests).
path() { printf '%s%s' "${ROOT}" "$1"; }

# --- writing files ---------------------------------------------------------------------------
# put_file DEST MODE OWNER GROUP CONTENT
# Writes CONTENT and a newline to DEST (atomically, via a temp file in the same directory) only
# if that differs from what is there, then sets mode and owner either way. Sets CHANGED=1 if it
# wrote. (Not fed by a pipe: a pipeline's last command runs in a subshell, and CHANGED would
# be lost.)
CHANGED=0
put_file() {
    local dest=$1 mode=$2 owner=$3 group=$4 content=$5 tmp
    tmp=$(mktemp "$(dirname "${dest}")/.kelev-tmp.XXXXXX")
    printf '%s\n' "${content}" >"${tmp}"
    if [[ -f ${dest} ]] && cmp -s "${tmp}" "${dest}"; then
        rm -f "${tmp}"
        CHANGED=0
    else
        mv -f "${tmp}" "${dest}"
        CHANGED=1
        log "wrote ${dest#"${ROOT}"}"
    fi
    chmod "${mode}" "${dest}"
    chown "${owner}:${group}" "${dest}"
}

# render_to DEST MODE OWNER GROUP COMMAND...: put_file with COMMAND's output. A failing COMMAND
# stops the script before anything is written (a plain assignment under `set -e` and
# inherit_errexit).
render_to() {
    local dest=$1 mode=$2 owner=$3 group=$4 content
    shift 4
    content=$("$@")
    put_file "${dest}" "${mode}" "${owner}" "${group}" "${content}"
}

# put_dir DIR MODE OWNER GROUP: create if missing, and set mode and owner (not recursively).
put_dir() {
    install -d -m "$2" -o "$3" -g "$4" "$1"
}

# --- settings --------------------------------------------------------------------------------
# The settings file the host module writes; every function below reads it through `setting`.
SETTINGS_FILE=""

# setting JQ_FILTER: one value from the settings, raw; fails if it is null or false (so ask
# for booleans with `| tostring`).
setting() { jq -er "$1" "${SETTINGS_FILE}"; }

# load_settings FILE: check the file once, so that the steps can trust it.
load_settings() {
    SETTINGS_FILE=$1
    [[ -r ${SETTINGS_FILE} ]] || die "settings file ${SETTINGS_FILE} is missing (the host module's user data writes it)"
    local problem
    problem=$(jq -r '
        def key_line: test("^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ssh-rsa|sk-ssh-ed25519@openssh\\.com) [A-Za-z0-9+/=]{40,}( [^\"\\\\[:cntrl:]]*)?$");
        def words: type == "array" and length > 0 and all(.[]; type == "string" and test("^([*]|[a-z0-9][a-z0-9-]{0,62})$"));
        if type != "object" then "not a JSON object"
        elif (.data_volume_id | type) != "string" or (.data_volume_id | test("^vol-[0-9a-f]{8,17}$") | not) then "`data_volume_id` is not an EBS volume id"
        elif (.domain | type) != "string" or (.domain | test("^[a-z0-9.-]+$") | not) then "`domain` is not a domain name"
        elif (.region | type) != "string" or (.region | test("^[a-z0-9-]+$") | not) then "`region` is not an AWS region name"
        elif (.log_group_name | type) != "string" or (.log_group_name | test("^[A-Za-z0-9/_.#-]{1,512}$") | not) then "`log_group_name` is not a CloudWatch Logs group name"
        elif (.metrics_namespace | type) != "string" or (.metrics_namespace | test("^[A-Za-z0-9/_.#:-]{1,255}$") | not) then "`metrics_namespace` is not a CloudWatch namespace"
        elif (.acme_email | type) != "string" or (.acme_email | test("^[^@\\s\"]+@[^@\\s\"]+$") | not) then "`acme_email` is not an email address"
        elif (.acme_staging | type) != "boolean" then "`acme_staging` is not true or false"
        elif has("acme_ca_server") and ((.acme_ca_server | type) != "string" or (.acme_ca_server | test("^https://[^\\s\"]+$") | not)) then "`acme_ca_server` is not an https:// URL"
        elif has("acme_ca_certificate") and ((.acme_ca_certificate | type) != "string" or (.acme_ca_certificate | test("^-----BEGIN CERTIFICATE-----") | not)) then "`acme_ca_certificate` is not a PEM certificate"
        elif (.deploy_keys | type) != "object" then "`deploy_keys` is not an object"
        elif (.cloudwatch_agent_config | type) != "object" then "`cloudwatch_agent_config` is not an object"
        elif (.agent | type) != "object" then "`agent` (the kelev-agent release pin) is missing"
        elif (.agent.version | type) != "string" or (.agent.version | test("^[0-9]+\\.[0-9]+\\.[0-9]+([-.+][0-9A-Za-z.-]+)?$") | not) then "`agent.version` is not a release version"
        elif (.agent.sha256 | type) != "string" or (.agent.sha256 | test("^[0-9a-f]{64}$") | not) then "`agent.sha256` is not 64 lowercase hex digits"
        elif (.agent.url | type) != "string" or (.agent.url | test("^https?://[^\\s\"]+$") | not) then "`agent.url` is not an http(s) URL"
        else
          [.deploy_keys | to_entries[]
           | if (.key | test("^[a-z0-9][a-z0-9-]{0,62}$") | not) then "deploy key id `\(.key)` must be [a-z0-9-]"
             elif (.value.public_key | type) != "string" or (.value.public_key | key_line | not) then "deploy key `\(.key)`: `public_key` is not one OpenSSH public key line"
             elif (.value.verbs | words | not) then "deploy key `\(.key)`: `verbs` must be a non-empty list of verbs or \"*\""
             elif (.value.projects | words | not) then "deploy key `\(.key)`: `projects` must be a non-empty list of project names or \"*\""
             else empty end][0] // ""
        end' "${SETTINGS_FILE}") || die "${SETTINGS_FILE} is not valid JSON"
    [[ -z ${problem} ]] || die "${SETTINGS_FILE}: ${problem}"
}

# --- step 1: packages ------------------------------------------------------------------------
apt_get() {
    DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a \
        apt-get -q -y -o DPkg::Lock::Timeout=600 -o Acquire::Retries=5 "$@"
}

APT_UPDATED=0
# apt_install PKG...: install the packages that are not installed yet. The first `apt-get
# update` is retried for up to ten minutes: the Elastic IP may be associated a little after boot.
apt_install() {
    local pkg missing=()
    for pkg in "$@"; do
        [[ "$(dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null)" == "install ok installed" ]] ||
            missing+=("${pkg}")
    done
    ((${#missing[@]})) || return 0
    if ((!APT_UPDATED)); then
        local try
        for try in $(seq 60); do
            apt_get update && break
            ((try < 60)) || die "apt-get update kept failing (no network?)"
            log "apt-get update failed (try ${try}); retrying in 10 s"
            sleep 10
        done
        APT_UPDATED=1
    fi
    log "installing ${missing[*]}"
    apt_get install --no-install-recommends "${missing[@]}"
}

step_packages() {
    apt_install jq curl ca-certificates gnupg e2fsprogs util-linux logrotate rsyslog awscli
}

# --- step 2: data volume ---------------------------------------------------------------------
# The /dev/disk/by-id names udev gives an EBS volume on a Nitro instance: the NVMe serial is
# the volume id without its dash (vol-0abc -> vol0abc); newer udev adds a `_1` namespace form.
data_device_links() {
    local serial=${1/-/}
    printf '%s\n' \
        "$(path /dev/disk/by-id)/nvme-Amazon_Elastic_Block_Store_${serial}" \
        "$(path /dev/disk/by-id)/nvme-Amazon_Elastic_Block_Store_${serial}_1"
}

# wait_for_data_device VOLUME_ID TIMEOUT_SECONDS: print the device once the volume is attached.
wait_for_data_device() {
    local volume=$1 timeout=$2 link waited=0
    while :; do
        while read -r link; do
            if [[ -e ${link} ]]; then
                readlink -f "${link}"
                return 0
            fi
        done < <(data_device_links "${volume}")
        ((waited < timeout)) || die "data volume ${volume} did not attach within ${timeout} s (no $(data_device_links "${volume}" | head -n 1))"
        ((waited % 30)) || log "waiting for data volume ${volume} to attach"
        sleep 1
        waited=$((waited + 1))
    done
}

# ensure_filesystem DEVICE: make the ext4 filesystem only when the device holds no signature at
# all. A restored snapshot, or a volume from an earlier instance, always has one and is kept as
# it is. blkid exits 2 for "nothing found"; any other failure stops here rather than risk mkfs.
ensure_filesystem() {
    local device=$1 status=0 found
    found=$(blkid -p -o export "${device}") || status=$?
    case ${status} in
        0)
            if grep -q '^PTTYPE=' <<<"${found}"; then
                die "${device} holds a partition table, not a filesystem; refusing to touch it"
            fi
            grep -qx 'TYPE=ext4' <<<"${found}" ||
                die "${device} holds something other than ext4 ($(grep -E '^TYPE=' <<<"${found}" || echo 'no TYPE')); refusing to touch it"
            log "${device} already has an ext4 filesystem ($(grep -E '^LABEL=' <<<"${found}" || echo 'no label')); keeping it"
            ;;
        2)
            log "${device} is blank: making an ext4 filesystem labelled ${DATA_LABEL}"
            mkfs.ext4 -q -L "${DATA_LABEL}" -m 1 "${device}"
            ;;
        *) die "blkid could not probe ${device} (exit ${status}); not making a filesystem" ;;
    esac
}

filesystem_uuid() {
    local uuid
    uuid=$(blkid -p -s UUID -o value "${1}") || die "no filesystem UUID on $1"
    [[ ${uuid} =~ ^[0-9a-fA-F-]{8,36}$ ]] || die "unexpected filesystem UUID ${uuid} on $1"
    printf '%s\n' "${uuid}"
}

# render_fstab FSTAB UUID: FSTAB with exactly one line for the data mount, by UUID, `nofail`
# so that a missing volume does not stop the boot (Docker then refuses to start: see the docker
# step).
render_fstab() {
    awk -v mnt="${DATA_MOUNT}" '$0 !~ /# kelev-data$/ && $2 != mnt' "$1"
    printf 'UUID=%s %s ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2 # kelev-data\n' \
        "$2" "${DATA_MOUNT}"
}

update_fstab() {
    local fstab
    fstab=$(path /etc/fstab)
    [[ -e ${fstab} ]] || : >"${fstab}"
    render_to "${fstab}" 0644 root root render_fstab "${fstab}" "$1"
}

# Replaced in the test harness: mounts the data volume for real.
mount_data() {
    local uuid=$1
    systemctl daemon-reload
    if ! mountpoint -q "${DATA_MOUNT}"; then
        mount "${DATA_MOUNT}"
    fi
    [[ "$(findmnt -no UUID "${DATA_MOUNT}")" == "${uuid}" ]] ||
        die "${DATA_MOUNT} is mounted, but not from the data volume (UUID ${uuid})"
}

# Replaced in the test harness: after data_volume_size_gb grew, the ext4 filesystem grows to
# the whole device (online, while mounted; nothing to do when it already fills it).
grow_filesystem() {
    resize2fs "$1"
}

step_data_volume() {
    local volume device uuid mounted_at
    volume=$(setting .data_volume_id)
    device=$(wait_for_data_device "${volume}" "${DATA_DEVICE_TIMEOUT}")
    log "data volume ${volume} is ${device}"
    mounted_at=$(findmnt -rno TARGET -S "${device}" 2>/dev/null | head -n 1) || true
    if [[ -n ${mounted_at} && ${mounted_at} != "${DATA_MOUNT}" ]]; then
        die "${device} is mounted on ${mounted_at}, not ${DATA_MOUNT}; refusing to go on"
    fi
    ensure_filesystem "${device}"
    uuid=$(filesystem_uuid "${device}")
    update_fstab "${uuid}"
    mount_data "${uuid}"
    grow_filesystem "${device}"
    put_dir "$(path "${DATA_MOUNT}")" 0755 root root
    put_dir "$(path "${DATA_MOUNT}/home")" 0755 root root
    put_dir "$(path "${DOCKER_ROOT}")" 0710 root root
    put_dir "$(path "${TRAEFIK_DATA}")" 0700 root root
}

# --- step 3: docker --------------------------------------------------------------------------
# Every container's output to the log group, a stream per container (<project>-<service>-<index>);
# non-blocking, so nothing waits for CloudWatch; a local copy (cache-*) for `docker logs`.
render_docker_daemon_json() {
    jq -n --arg root "${DOCKER_ROOT}" --arg region "$(setting .region)" \
        --arg group "$(setting .log_group_name)" '{
        "data-root": $root,
        "log-driver": "awslogs",
        "log-opts": {
            "awslogs-region": $region,
            "awslogs-group": $group,
            "tag": "{{.Name}}",
            "mode": "non-blocking",
            "max-buffer-size": "4m",
            "cache-max-size": "20m",
            "cache-max-file": "5"
        },
        "live-restore": true
    }'
}

render_docker_unit_dropin() {
    cat <<EOF
# Written by kelev bootstrap/init.sh. Docker's data-root is on the data volume: without it
# mounted, the engine must not start (it would fill the root disk with a second, empty set of
# images and volumes).
[Unit]
RequiresMountsFor=${DATA_MOUNT}
EOF
}

# Replaced in the test harness.
install_docker() {
    local restart=$1
    apt_install docker.io docker-compose-v2
    systemctl daemon-reload
    systemctl enable --now docker.service
    if ((restart)); then
        systemctl restart docker.service
    fi
    docker compose version >/dev/null || die "docker compose (v2 plugin) does not answer"
}

step_docker() {
    local restart=0
    put_dir "$(path /etc/docker)" 0755 root root
    render_to "$(path /etc/docker/daemon.json)" 0644 root root render_docker_daemon_json
    if ((CHANGED)); then restart=1; fi
    put_dir "$(path /etc/systemd/system/docker.service.d)" 0755 root root
    render_to "$(path /etc/systemd/system/docker.service.d/kelev.conf)" 0644 root root render_docker_unit_dropin
    if ((CHANGED)); then restart=1; fi
    install_docker "${restart}"
}

# --- step 4: deploy user ---------------------------------------------------------------------
# Replaced in the test harness.
ensure_deploy_user() {
    local home="${DATA_MOUNT}/home/${DEPLOY_USER}"
    if ! getent group "${DEPLOY_GROUP}" >/dev/null; then
        groupadd --system --gid "${DEPLOY_UID}" "${DEPLOY_GROUP}"
    fi
    if getent passwd "${DEPLOY_USER}" >/dev/null; then
        [[ "$(id -u "${DEPLOY_USER}")" == "${DEPLOY_UID}" ]] ||
            die "user ${DEPLOY_USER} exists with uid $(id -u "${DEPLOY_USER}"), not ${DEPLOY_UID}"
    else
        # A real login shell (sshd runs the forced command through it) and password '*': no
        # password login, but not locked ('!'), which sshd refuses for key logins.
        useradd --system --uid "${DEPLOY_UID}" --gid "${DEPLOY_GROUP}" --groups docker \
            --home-dir "${home}" --no-create-home --shell /bin/sh --password '*' "${DEPLOY_USER}"
    fi
    usermod --groups docker --append "${DEPLOY_USER}"
    # The home is on the data volume, so known_hosts and `docker login` survive a new instance;
    # /home/deploy points at it for the commands in docs/security.md.
    if [[ ! -e /home/${DEPLOY_USER} ]]; then
        ln -s "${home}" "/home/${DEPLOY_USER}"
    fi
}

step_deploy_user() {
    ensure_deploy_user
    put_dir "$(path "${DATA_MOUNT}/home/${DEPLOY_USER}")" 0750 "${DEPLOY_USER}" "${DEPLOY_GROUP}"
    put_dir "$(path "${AGENT_ROOT}")" 0750 "${DEPLOY_USER}" "${DEPLOY_GROUP}"
}

# --- step 5: ssh -----------------------------------------------------------------------------
# One `restrict,command=` line per deploy key (docs/security.md, "authorized_keys").
render_authorized_keys() {
    echo "# Written by kelev bootstrap/init.sh from the host module's deploy_keys; rewritten on every run."
    jq -r '.deploy_keys | to_entries[]
        | "restrict,command=\"/usr/local/bin/kelev-agent --key \(.key)\" \(.value.public_key)"' \
        "${SETTINGS_FILE}"
}

render_sshd_dropin() {
    cat <<EOF
# Written by kelev bootstrap/init.sh; rewritten on every run. See docs/security.md.
# Not allowed inside a Match block; keeps environment= options and ~/.ssh/environment from
# setting the agent's environment.
PermitUserEnvironment no
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no

Match User ${DEPLOY_USER}
    AuthorizedKeysFile /etc/ssh/authorized_keys/%u
    PasswordAuthentication no
    KbdInteractiveAuthentication no
    DisableForwarding yes
    PermitTTY no
    PermitUserRC no
EOF
}

# Replaced in the test harness.
reload_sshd() { systemctl reload ssh.service; }

# The first instance saves its host keys on the data volume; every later one (a changed deploy
# key, a restore from a snapshot) puts them back in place of the ones cloud-init generated.
# Sets CHANGED=1 if /etc/ssh got keys from the volume.
persist_host_keys() {
    local saved etc key name changed=0
    saved=$(path "${HOST_KEYS}")
    etc=$(path /etc/ssh)
    put_dir "${saved}" 0700 root root
    if compgen -G "${saved}/ssh_host_*_key" >/dev/null; then
        for key in "${saved}"/ssh_host_*_key; do
            name=${key##*/}
            if ! cmp -s "${key}" "${etc}/${name}" || ! cmp -s "${key}.pub" "${etc}/${name}.pub"; then
                install -m 0600 -o root -g root "${key}" "${etc}/${name}"
                install -m 0644 -o root -g root "${key}.pub" "${etc}/${name}.pub"
                changed=1
                log "host key ${name}: restored from ${HOST_KEYS}"
            fi
        done
    else
        compgen -G "${etc}/ssh_host_*_key" >/dev/null || die "no host keys in /etc/ssh to save"
        for key in "${etc}"/ssh_host_*_key; do
            install -m 0600 -o root -g root "${key}" "${saved}/"
            install -m 0644 -o root -g root "${key}.pub" "${saved}/"
        done
        log "host keys saved to ${HOST_KEYS}"
    fi
    CHANGED=${changed}
}

step_ssh() {
    local dropin previous="" reload=0
    put_dir "$(path /etc/ssh/authorized_keys)" 0755 root root
    render_to "$(path "/etc/ssh/authorized_keys/${DEPLOY_USER}")" 0644 root root render_authorized_keys
    put_dir "$(path /etc/ssh/sshd_config.d)" 0755 root root
    dropin=$(path /etc/ssh/sshd_config.d/kelev.conf)
    if [[ -f ${dropin} ]]; then
        previous=$(cat "${dropin}")
    fi
    render_to "${dropin}" 0644 root root render_sshd_dropin
    reload=${CHANGED}
    persist_host_keys
    if ((CHANGED)); then reload=1; fi
    ((reload)) || return 0
    # A broken sshd config would lock everyone out at the next restart: check it first, and
    # put the old drop-in back if the new one does not pass.
    if ! /usr/sbin/sshd -t -f "$(path /etc/ssh/sshd_config)"; then
        if [[ -n ${previous} ]]; then
            printf '%s\n' "${previous}" >"${dropin}"
        else
            rm -f "${dropin}"
        fi
        die "sshd -t refused the new ${dropin#"${ROOT}"} or the host keys; the previous drop-in is back in place"
    fi
    reload_sshd
}

# --- step 6: agent ---------------------------------------------------------------------------
render_agent_json() {
    jq --arg root "${AGENT_ROOT}" --arg network "${TRAEFIK_NETWORK}" \
        --arg entrypoint "${TRAEFIK_ENTRYPOINT}" --arg resolver "${TRAEFIK_CERT_RESOLVER}" '{
        root: $root,
        traefik: {network: $network, entrypoints: [$entrypoint], cert_resolver: $resolver,
                  api: "http://127.0.0.1:8080"},
        keys: (.deploy_keys | map_values({verbs, projects}))
    }' "${SETTINGS_FILE}"
}

# The release the settings pin: bootstrap/install-agent.sh (shipped beside this script) installs
# it only if its SHA-256 and the version it reports are the pinned ones, atomically, keeping the
# one it replaces.
install_kelev_agent_release() {
    local version
    version=$(setting .agent.version)
    PREFIX=${ROOT} "$(dirname "${BASH_SOURCE[0]}")/install-agent.sh" "${version}" \
        "$(setting .agent.sha256)" "$(setting .agent.url)" ||
        die "kelev-agent ${version} was not installed (see the line above)"
}

step_agent() {
    put_dir "$(path /etc/kelev)" 0755 root root
    install_kelev_agent_release
    # The agent just installed checks the agent.json it is about to be given, with the rules it
    # reads it by, before it replaces the one that works.
    render_agent_json | "$(path /usr/local/bin/kelev-agent)" --config /dev/stdin --check-config >/dev/null ||
        die "kelev-agent refused the new agent.json (see the line above); the previous one is kept"
    render_to "$(path /etc/kelev/agent.json)" 0644 root root render_agent_json
}

# --- step 7: logs ----------------------------------------------------------------------------
render_logrotate_conf() {
    cat <<EOF
# Written by kelev bootstrap/init.sh; rewritten on every run.
# The agent appends to audit.log as ${DEPLOY_USER}, reopening it each time.
${AGENT_ROOT}/audit.log {
    su ${DEPLOY_USER} ${DEPLOY_GROUP}
    weekly
    rotate 26
    compress
    delaycompress
    missingok
    notifempty
    create 0640 ${DEPLOY_USER} ${DEPLOY_GROUP}
}

/var/log/kelev-agent.log {
    weekly
    rotate 8
    compress
    delaycompress
    missingok
    notifempty
    postrotate
        /usr/lib/rsyslog/rsyslog-rotate
    endscript
}

${LOG_FILE} {
    monthly
    rotate 4
    compress
    missingok
    notifempty
}
EOF
}

render_rsyslog_conf() {
    cat <<'EOF'
# Written by kelev bootstrap/init.sh. kelev-agent's audit lines (ident kelev-agent, facility
# auth) also go to their own file, which the CloudWatch agent ships; they stay in auth.log too.
if $programname == 'kelev-agent' then /var/log/kelev-agent.log
EOF
}

# Replaced in the test harness.
restart_rsyslog() { systemctl restart rsyslog.service; }

step_logs() {
    put_dir "$(path /etc/logrotate.d)" 0755 root root
    render_to "$(path /etc/logrotate.d/kelev)" 0644 root root render_logrotate_conf
    put_dir "$(path /etc/rsyslog.d)" 0755 root root
    render_to "$(path /etc/rsyslog.d/30-kelev-agent.conf)" 0644 root root render_rsyslog_conf
    if ((CHANGED)); then
        restart_rsyslog
    fi
}

# --- step 8: cloudwatch ----------------------------------------------------------------------
# verify_signed_file FILE SIGNATURE KEY FINGERPRINT: the signature on FILE must be good and made
# by the key with that fingerprint, whatever else KEY holds.
verify_signed_file() {
    local file=$1 signature=$2 key=$3 fingerprint=$4 gnupghome status
    gnupghome=$(mktemp -d)
    if ! GNUPGHOME=${gnupghome} gpg --batch --quiet --import "${key}" 2>/dev/null; then
        rm -rf "${gnupghome}"
        die "could not import the signing key ${key}"
    fi
    status=$(GNUPGHOME=${gnupghome} gpg --batch --status-fd 1 --verify "${signature}" "${file}" 2>/dev/null) || true
    rm -rf "${gnupghome}"
    # VALIDSIG's first field is the fingerprint of the key that made the signature.
    if ! grep -q "^\[GNUPG:\] VALIDSIG ${fingerprint} " <<<"${status}"; then
        die "${file##*/}: no good signature by ${fingerprint}; refusing to install it"
    fi
}

# Replaced in the test harness.
install_cloudwatch_agent() {
    local tmp
    if [[ "$(dpkg-query -W -f='${Status}' amazon-cloudwatch-agent 2>/dev/null)" == "install ok installed" ]]; then
        return 0
    fi
    # Runs in a subshell under `if` (see step_cloudwatch), where `set -e` is off: every command
    # checks its own status.
    tmp=$(mktemp -d) || return 1
    local deb=${CLOUDWATCH_BASE_URL}/ubuntu/amd64/latest/amazon-cloudwatch-agent.deb
    curl -fsSL --retry 5 -o "${tmp}/agent.deb" "${deb}" || die "could not download ${deb}"
    curl -fsSL --retry 5 -o "${tmp}/agent.deb.sig" "${deb}.sig" || die "could not download ${deb}.sig"
    curl -fsSL --retry 5 -o "${tmp}/key.gpg" "${CLOUDWATCH_BASE_URL}/assets/amazon-cloudwatch-agent.gpg" ||
        die "could not download the CloudWatch agent's signing key"
    verify_signed_file "${tmp}/agent.deb" "${tmp}/agent.deb.sig" "${tmp}/key.gpg" "${CLOUDWATCH_KEY_FINGERPRINT}"
    dpkg -i "${tmp}/agent.deb" || die "dpkg -i amazon-cloudwatch-agent.deb failed"
    rm -rf "${tmp}"
}

# Replaced in the test harness.
start_cloudwatch_agent() {
    /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
        -c "file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"
}

step_cloudwatch() {
    # Monitoring must not keep the host from serving: a failed install is reported here and
    # shows up as the memory and disk alarms going off for missing data.
    if ! (install_cloudwatch_agent); then
        warn "the CloudWatch agent is not installed; metrics and logs will be missing"
        return 0
    fi
    put_dir "$(path /opt/aws/amazon-cloudwatch-agent/etc)" 0755 root root
    render_to "$(path /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json)" 0644 root root \
        setting .cloudwatch_agent_config
    if ((CHANGED)); then
        start_cloudwatch_agent
    fi
}

# --- step 9: traefik -------------------------------------------------------------------------
# The compose project's .env: what differs between hosts and the staging switch. An ACME CA of
# one's own (`acme_ca_server`, optional) replaces Let's Encrypt's directory; `acme_staging` still
# picks the storage file. Its root (`acme_ca_certificate`, optional) is written beside the
# storage files, where Traefik's ACME client (lego) reads it through LEGO_CA_CERTIFICATES.
render_traefik_env() {
    local staging ca storage
    staging=$(setting '.acme_staging | tostring')
    if [[ ${staging} == true ]]; then
        ca=${ACME_CA_STAGING} storage=acme-staging.json
    else
        ca=${ACME_CA_PRODUCTION} storage=acme.json
    fi
    ca=$(setting ".acme_ca_server // \"${ca}\"")
    cat <<EOF
# Written by kelev bootstrap/init.sh from /etc/kelev/bootstrap.json; rewritten on every run.
KELEV_ACME_EMAIL=$(setting .acme_email)
KELEV_ACME_CA_SERVER=${ca}
KELEV_ACME_STORAGE=${storage}
KELEV_TRAEFIK_DATA=${TRAEFIK_DATA}
KELEV_TRAEFIK_API=true
KELEV_TRAEFIK_DASHBOARD=false
EOF
    if has_setting acme_ca_certificate; then
        printf 'KELEV_ACME_CA_CERTIFICATES=/letsencrypt/%s\n' "${ACME_CA_FILE}"
    fi
}

has_setting() { jq -e --arg key "$1" 'has($key)' "${SETTINGS_FILE}" >/dev/null; }

# The shared network, with its subnet given explicitly: Docker hands a container its address
# back only on such a network, and a zero-downtime rollout relies on that (docs/architecture.md).
# The subnet is the one Docker would pick, read off a throwaway network.
create_traefik_network() {
    docker network inspect "${TRAEFIK_NETWORK}" >/dev/null 2>&1 && return 0
    local probe=kelev-subnet-probe-$$ subnet=""
    if docker network create "${probe}" >/dev/null; then
        subnet=$(docker network inspect --format '{{range .IPAM.Config}}{{.Subnet}} {{end}}' "${probe}") ||
            subnet=""
        subnet=${subnet%% *}
        docker network rm "${probe}" >/dev/null || true
    fi
    # If that subnet was taken meanwhile, Docker picks one.
    docker network create ${subnet:+"--subnet=${subnet}"} "${TRAEFIK_NETWORK}" >/dev/null ||
        docker network create "${TRAEFIK_NETWORK}" >/dev/null
}

# Replaced in the test harness.
start_traefik() {
    create_traefik_network
    local try
    for try in 1 2 3; do
        docker compose --project-name traefik --project-directory "${TRAEFIK_PROJECT}" up -d --quiet-pull && return 0
        log "docker compose up for Traefik failed (try ${try})"
        sleep 10
    done
    die "could not start Traefik (docker compose --project-directory ${TRAEFIK_PROJECT} up -d)"
}

step_traefik() {
    local source_dir
    source_dir=$(path /opt/kelev/bootstrap/traefik)
    [[ -f ${source_dir}/compose.yaml ]] || die "${source_dir}/compose.yaml is missing (the user data writes it)"
    # Let's Encrypt state lives on the data volume; Traefik wants the storage file private.
    local file
    for file in acme.json acme-staging.json; do
        [[ -e $(path "${TRAEFIK_DATA}/${file}") ]] || : >"$(path "${TRAEFIK_DATA}/${file}")"
        chmod 0600 "$(path "${TRAEFIK_DATA}/${file}")"
        chown root:root "$(path "${TRAEFIK_DATA}/${file}")"
    done
    if has_setting acme_ca_certificate; then
        render_to "$(path "${TRAEFIK_DATA}/${ACME_CA_FILE}")" 0644 root root setting .acme_ca_certificate
    else
        rm -f "$(path "${TRAEFIK_DATA}/${ACME_CA_FILE}")"
    fi
    put_dir "$(path "${TRAEFIK_PROJECT}")" 0755 root root
    render_to "$(path "${TRAEFIK_PROJECT}/compose.yaml")" 0644 root root cat "${source_dir}/compose.yaml"
    render_to "$(path "${TRAEFIK_PROJECT}/.env")" 0600 root root render_traefik_env
    start_traefik
}

# --- step 10: probe --------------------------------------------------------------------------
# The probe's settings: where the agent keeps the manifest, and where the metrics go.
render_probe_env() {
    cat <<EOF
# Written by kelev bootstrap/init.sh from /etc/kelev/bootstrap.json; rewritten on every run.
KELEV_PROBE_MANIFEST=${AGENT_ROOT}/projects.json
KELEV_PROBE_NAMESPACE=$(setting .metrics_namespace)
KELEV_PROBE_REGION=$(setting .region)
EOF
}

# As the deploy user: it needs to read the manifest, and nothing else of the host's.
render_probe_service() {
    cat <<EOF
# Written by kelev bootstrap/init.sh. One probe of every project's domains (bootstrap/probe.sh).
[Unit]
Description=kelev: probe every project's domains and publish site_up and certificate_days
After=network-online.target docker.service

[Service]
Type=oneshot
User=${DEPLOY_USER}
EnvironmentFile=${PROBE_ENV}
ExecStart=/opt/kelev/bootstrap/probe.sh
TimeoutStartSec=50
EOF
}

render_probe_timer() {
    cat <<'EOF'
# Written by kelev bootstrap/init.sh. A probe that stops running shows as missing data, which
# the site_up alarms treat as down.
[Unit]
Description=kelev: probe every project's domains every minute

[Timer]
OnBootSec=2min
OnUnitActiveSec=1min
AccuracySec=5s

[Install]
WantedBy=timers.target
EOF
}

# Replaced in the test harness.
enable_probe() {
    systemctl daemon-reload
    systemctl enable --now kelev-probe.timer
}

step_probe() {
    local source_dir changed=0
    source_dir=$(path /opt/kelev/bootstrap)
    [[ -x ${source_dir}/probe.sh ]] || die "${source_dir}/probe.sh is missing (the user data writes it)"
    render_to "$(path "${PROBE_ENV}")" 0644 root root render_probe_env
    changed=$((changed | CHANGED))
    put_dir "$(path /etc/systemd/system)" 0755 root root
    render_to "$(path /etc/systemd/system/kelev-probe.service)" 0644 root root render_probe_service
    changed=$((changed | CHANGED))
    render_to "$(path /etc/systemd/system/kelev-probe.timer)" 0644 root root render_probe_timer
    changed=$((changed | CHANGED))
    if ((changed)); then enable_probe; fi
}

# --- main ------------------------------------------------------------------------------------
# Every step after the packages, in order (init_test.sh runs these).
run_steps() {
    load_settings "$(path "${SETTINGS}")"
    step_data_volume
    step_docker
    step_deploy_user
    step_ssh
    step_agent
    step_logs
    step_cloudwatch
    step_traefik
    step_probe
}

main() {
    [[ ${EUID} -eq 0 ]] || die "must run as root"
    set -E
    trap on_error ERR
    exec 9>/run/kelev-init.lock
    flock -n 9 || die "another init.sh is running"
    touch "${LOG_FILE}"
    chmod 0640 "${LOG_FILE}"
    exec > >(tee -a "${LOG_FILE}") 2>&1
    log "start"
    step_packages
    run_steps
    log "done"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
