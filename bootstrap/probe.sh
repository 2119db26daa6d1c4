#!/usr/bin/env bash
# kelev uptime probe (kelev-probe.timer, every minute): each domain of each project in the agent's
# manifest, over HTTPS through this host's Traefik (resolved to 127.0.0.1, certificate verified),
# gives per project `site_up` (1: every domain answered below 500 and not 404) and
# `certificate_days` (earliest expiry), published to CloudWatch in one call. docs/infrastructure.md
# ("Uptime") says more. Environment: KELEV_PROBE_MANIFEST, _NAMESPACE, _REGION (probe.env);
# tests also set _CACERT, _PORT (443), _ENDPOINT and _AWS (aws).
set -euo pipefail
shopt -s inherit_errexit

PORT=${KELEV_PROBE_PORT:-443}
CACERT=${KELEV_PROBE_CACERT:-}

log() { printf 'probe: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# project_domains MANIFEST: one "PROJECT DOMAIN" line per domain. A project without `domains`
# is served on <name>.<manifest domain>, as the agent routes it.
project_domains() {
    jq -er '.domain as $default | .projects[]
        | .name as $name
        | (.domains // ["\($name).\($default)"])[]
        | "\($name) \(.)"' "$1"
}

# http_status DOMAIN: the status of GET https://DOMAIN/ through 127.0.0.1, 000 if none came.
http_status() {
    local code
    code=$(curl -sS -o /dev/null --max-time 10 -w '%{http_code}' \
        --resolve "$1:${PORT}:127.0.0.1" ${CACERT:+--cacert "${CACERT}"} \
        "https://$1:${PORT}/" 2>/dev/null) || code=000
    printf '%s\n' "${code:-000}"
}

# is_up STATUS
is_up() { [[ $1 =~ ^[1-4][0-9][0-9]$ && $1 != 404 ]]; }

# certificate_days DOMAIN: whole days left on the certificate 127.0.0.1 serves for DOMAIN, if
# it verifies for that name (not, say, Traefik's default certificate).
certificate_days() {
    local end
    end=$(openssl s_client -connect "127.0.0.1:${PORT}" -servername "$1" -verify_hostname "$1" \
        -verify_return_error ${CACERT:+-CAfile "${CACERT}"} </dev/null 2>/dev/null |
        openssl x509 -noout -enddate 2>/dev/null) || return 1
    days_until "${end#notAfter=}"
}

# days_until DATE: whole days from now until DATE (negative once past).
days_until() {
    local end now
    end=$(date -d "$1" +%s) || return 1
    now=$(date +%s)
    printf '%s\n' "$(((end - now) / 86400))"
}

# probe MANIFEST: one "PROJECT UP DAYS STATUSES" line per project (DAYS `-` if unknown).
probe() {
    local project domain code days up line
    declare -A project_up=() project_days=() statuses=()
    local order=()
    while read -r project domain; do
        if [[ -z ${project_up[${project}]+set} ]]; then
            order+=("${project}")
            project_up[${project}]=1
            project_days[${project}]=-
        fi
        code=$(http_status "${domain}")
        statuses[${project}]+="${domain}:${code} "
        is_up "${code}" || project_up[${project}]=0
        if days=$(certificate_days "${domain}"); then
            if [[ ${project_days[${project}]} == - ]] || ((days < project_days[${project}])); then
                project_days[${project}]=${days}
            fi
        fi
    done < <(project_domains "$1")
    for project in "${order[@]}"; do
        up=${project_up[${project}]}
        line="${project} ${up} ${project_days[${project}]} ${statuses[${project}]% }"
        printf '%s\n' "${line}"
    done
}

# metric_data: the PutMetricData JSON for probe's lines on stdin.
metric_data() {
    jq -Rsc 'split("\n") | map(select(length > 0) | split(" ")) | map(
        {MetricName: "site_up", Dimensions: [{Name: "Project", Value: .[0]}],
         Value: (.[1] | tonumber), Unit: "None"},
        (select(.[2] != "-")
         | {MetricName: "certificate_days", Dimensions: [{Name: "Project", Value: .[0]}],
            Value: (.[2] | tonumber), Unit: "Count"})
    )'
}

main() {
    local manifest=${KELEV_PROBE_MANIFEST:?set in /etc/kelev/probe.env}
    local namespace=${KELEV_PROBE_NAMESPACE:?set in /etc/kelev/probe.env}
    local region=${KELEV_PROBE_REGION:?set in /etc/kelev/probe.env}
    local results data
    [[ -r ${manifest} ]] || die "cannot read the manifest ${manifest}"
    results=$(probe "${manifest}")
    [[ -n ${results} ]] || {
        log "no projects in ${manifest}; nothing to publish"
        return 0
    }
    while read -r project up days statuses; do
        log "${project} site_up=${up} certificate_days=${days} (${statuses})"
    done <<<"${results}"
    data=$(metric_data <<<"${results}")
    "${KELEV_PROBE_AWS:-aws}" --region "${region}" ${KELEV_PROBE_ENDPOINT:+--endpoint-url "${KELEV_PROBE_ENDPOINT}"} \
        cloudwatch put-metric-data --namespace "${namespace}" --metric-data "${data}" ||
        die "put-metric-data to ${namespace} failed; the site_up alarms will see missing data"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
