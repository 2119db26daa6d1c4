//! The infrastructure code, parsed: the HCL of `terraform/` and `bootstrap/` read with `hcl-rs`
//! and the properties that matter asserted on it, since Terraform, Terragrunt and AWS cannot run
//! here. Also that the Traefik project and init.sh use the names the agent writes into its
//! labels, and that the host module accepts exactly the inputs `kelev gen-config` writes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hcl::expr::{Expression, FuncCall, ObjectKey};
use hcl::{Block, Body};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[track_caller]
fn parse(path: &Path) -> Body {
    hcl::parse(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `.tf` file of a module folder, parsed, with its file name.
fn module(dir: &str) -> Vec<(String, Body)> {
    let dir = repo().join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tf"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                parse(p),
            )
        })
        .collect()
}

/// Every Terraform module folder in the repository: the modules and the state bootstrap.
fn module_dirs() -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(repo().join("terraform/modules"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| format!("terraform/modules/{}", e.file_name().to_string_lossy()))
        .collect();
    dirs.push("bootstrap/state".into());
    dirs.sort();
    dirs
}

/// Blocks `ident "label0" "label1" {}` across a module's files.
fn blocks<'a>(files: &'a [(String, Body)], ident: &str) -> Vec<&'a Block> {
    files
        .iter()
        .flat_map(|(_, body)| body.blocks())
        .filter(|b| b.identifier() == ident)
        .collect()
}

/// The resources of one type: (name, block).
fn resources<'a>(files: &'a [(String, Body)], kind: &str) -> Vec<(&'a str, &'a Block)> {
    blocks(files, "resource")
        .into_iter()
        .filter(|b| b.labels()[0].as_str() == kind)
        .map(|b| (b.labels()[1].as_str(), b))
        .collect()
}

#[track_caller]
fn resource<'a>(files: &'a [(String, Body)], kind: &str, name: &str) -> &'a Block {
    resources(files, kind)
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no resource {kind}.{name}"))
        .1
}

fn attr<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes().find(|a| a.key() == key).map(|a| a.expr())
}

#[track_caller]
fn attr_text(body: &Body, key: &str) -> String {
    attr(body, key)
        .unwrap_or_else(|| panic!("no attribute `{key}`"))
        .to_string()
}

fn child<'a>(body: &'a Body, ident: &str) -> Vec<&'a Block> {
    body.blocks().filter(|b| b.identifier() == ident).collect()
}

#[track_caller]
fn only_child<'a>(body: &'a Body, ident: &str) -> &'a Block {
    let found = child(body, ident);
    assert_eq!(found.len(), 1, "expected one `{ident}` block");
    found[0]
}

fn key_name(key: &ObjectKey) -> String {
    match key {
        ObjectKey::Identifier(ident) => ident.to_string(),
        ObjectKey::Expression(Expression::String(s)) => s.clone(),
        other => other.to_string(),
    }
}

/// The string literals of an array expression.
fn strings(expr: Option<&Expression>) -> Vec<String> {
    match expr {
        Some(Expression::Array(items)) => items
            .iter()
            .map(|e| match e {
                Expression::String(s) => s.clone(),
                other => panic!("not a string literal: {other}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

fn number(expr: Option<&Expression>) -> Option<f64> {
    match expr? {
        Expression::Number(n) => n.as_f64(),
        _ => None,
    }
}

// --- the data volume and its snapshots -----------------------------------------------------------

#[test]
fn snapshots_are_daily_and_kept_seven_days() {
    let host = module("terraform/modules/host");
    let policies = resources(&host, "aws_dlm_lifecycle_policy");
    assert_eq!(policies.len(), 1, "one DLM policy");
    let details = only_child(policies[0].1.body(), "policy_details");
    assert_eq!(strings(attr(details.body(), "resource_types")), ["VOLUME"]);
    let schedule = only_child(details.body(), "schedule");
    let create = only_child(schedule.body(), "create_rule");
    assert_eq!(number(attr(create.body(), "interval")), Some(24.0));
    assert_eq!(attr_text(create.body(), "interval_unit"), r#""HOURS""#);
    let retain = only_child(schedule.body(), "retain_rule");
    assert_eq!(number(attr(retain.body(), "count")), Some(7.0));

    // The policy selects the data volume: its target tag is one of the volume's tags.
    let Some(Expression::Object(targets)) = attr(details.body(), "target_tags") else {
        panic!("target_tags is not an object");
    };
    let volume = resource(&host, "aws_ebs_volume", "data");
    let Some(Expression::Object(tags)) = attr(volume.body(), "tags") else {
        panic!("the data volume has no tags object");
    };
    let tags: BTreeMap<String, String> = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (key, value) in targets.iter() {
        assert_eq!(
            tags.get(&key.to_string()),
            Some(&value.to_string()),
            "the data volume lacks the target tag {key} = {value}"
        );
    }
}

#[test]
fn the_data_volume_is_gp3_and_cannot_be_destroyed() {
    let host = module("terraform/modules/host");
    let volume = resource(&host, "aws_ebs_volume", "data");
    assert_eq!(attr_text(volume.body(), "type"), r#""gp3""#);
    assert_eq!(attr_text(volume.body(), "size"), "var.data_volume_size_gb");
    assert_eq!(
        attr_text(volume.body(), "snapshot_id"),
        "var.restore_snapshot_id"
    );
    let lifecycle = only_child(volume.body(), "lifecycle");
    assert!(
        matches!(
            attr(lifecycle.body(), "prevent_destroy"),
            Some(Expression::Bool(true))
        ),
        "aws_ebs_volume.data needs lifecycle.prevent_destroy = true"
    );
    // It is attached to the instance (stopping it first), in the instance's zone.
    let attachment = resource(&host, "aws_volume_attachment", "data");
    assert_eq!(
        attr_text(attachment.body(), "volume_id"),
        "aws_ebs_volume.data.id"
    );
    assert_eq!(
        attr_text(attachment.body(), "instance_id"),
        "aws_instance.host.id"
    );
    assert_eq!(
        attr_text(volume.body(), "availability_zone"),
        "local.availability_zone"
    );
    assert_eq!(
        attr_text(
            resource(&host, "aws_subnet", "public").body(),
            "availability_zone"
        ),
        "local.availability_zone"
    );
}

#[test]
fn every_volume_is_encrypted() {
    let mut volumes = 0;
    for dir in module_dirs() {
        let files = module(&dir);
        for (name, block) in resources(&files, "aws_ebs_volume") {
            volumes += 1;
            assert!(
                matches!(
                    attr(block.body(), "encrypted"),
                    Some(Expression::Bool(true))
                ),
                "{dir}: aws_ebs_volume.{name} is not encrypted"
            );
        }
        for kind in ["aws_instance", "aws_launch_template"] {
            for (name, block) in resources(&files, kind) {
                let devices: Vec<&Block> = ["root_block_device", "ebs_block_device"]
                    .iter()
                    .flat_map(|d| child(block.body(), d))
                    .collect();
                if kind == "aws_instance" {
                    assert!(
                        !child(block.body(), "root_block_device").is_empty(),
                        "{dir}: {kind}.{name} must declare its root_block_device (encrypted)"
                    );
                }
                for device in devices {
                    volumes += 1;
                    assert!(
                        matches!(
                            attr(device.body(), "encrypted"),
                            Some(Expression::Bool(true))
                        ),
                        "{dir}: a block device of {kind}.{name} is not encrypted"
                    );
                }
            }
        }
    }
    assert_eq!(volumes, 2, "the data volume and the root volume");
}

// --- the instance ----------------------------------------------------------------------------

#[test]
fn the_instance_requires_imdsv2_and_is_monitored() {
    for dir in module_dirs() {
        let files = module(&dir);
        for kind in ["aws_instance", "aws_launch_template"] {
            for (name, block) in resources(&files, kind) {
                let metadata = only_child(block.body(), "metadata_options");
                assert_eq!(
                    attr_text(metadata.body(), "http_tokens"),
                    r#""required""#,
                    "{dir}: {kind}.{name} must require IMDSv2"
                );
                assert_eq!(
                    number(attr(metadata.body(), "http_put_response_hop_limit")),
                    Some(1.0),
                    "{dir}: {kind}.{name}: containers must not reach the metadata service"
                );
            }
        }
    }
    let host = module("terraform/modules/host");
    let instance = resource(&host, "aws_instance", "host").body();
    assert!(matches!(
        attr(instance, "monitoring"),
        Some(Expression::Bool(true))
    ));
    assert_eq!(
        attr_text(instance, "iam_instance_profile"),
        "aws_iam_instance_profile.host.name"
    );
    assert_eq!(attr_text(instance, "ami"), "var.ami_id");
    // User data: a change means a fresh instance, since cloud-init runs init.sh once.
    assert!(matches!(
        attr(instance, "user_data_replace_on_change"),
        Some(Expression::Bool(true))
    ));
    assert_eq!(
        attr_text(instance, "user_data_base64"),
        "base64gzip(local.user_data)"
    );
    let main = read(&repo().join("terraform/modules/host/main.tf"));
    // The scripts go through local.scripts, which drops their comments for the reader the way
    // scripts/check-infra's `carried` does (and then tests them in that form).
    assert!(main.contains(r#"for script in ["init.sh", "install-agent.sh", "probe.sh"] :"#));
    for pattern in [
        r#"file("${var.bootstrap_dir}/${script}"),"#,
        r#""/^(#![^\n]*\n)(#[^\n]*\n)+/", "$1"),"#,
        r#""/(?m)^[ \t]+#[^\n]*\n/", ""),"#,
        r#""/(?m)^(?:#[^!\n][^\n]*\n)+([a-z_][a-z0-9_]*\\(\\) \\{)/", "$1")"#,
    ] {
        assert!(
            main.contains(pattern),
            "main.tf's local.scripts lacks {pattern}"
        );
    }
    for file in [
        "init.sh",
        "install-agent.sh",
        "probe.sh",
        "traefik/compose.yaml",
    ] {
        let carried = if file.ends_with(".sh") {
            // As `terraform fmt` aligns it (scripts/check-infra checks the format).
            format!(r#"content     = local.scripts["{file}"]"#)
        } else {
            format!(r#"file("${{var.bootstrap_dir}}/{file}")"#)
        };
        assert!(
            main.contains(&carried),
            "the user data does not carry {file}"
        );
        assert!(
            repo().join("bootstrap").join(file).is_file(),
            "bootstrap/{file}"
        );
    }
}

/// Terragrunt copies only `terraform/modules/` into its cache, so the host module reads what it
/// sends to the instance from the repository: every region passes the repository's bootstrap/.
#[test]
fn every_region_gives_the_host_module_the_repository_bootstrap() {
    let mut regions: Vec<PathBuf> = std::fs::read_dir(repo().join("terraform/region"))
        .unwrap()
        .map(|e| e.unwrap().path().join("terragrunt.hcl"))
        .collect();
    regions.push(repo().join("ci/tests/golden/terraform/region/us-east-1/terragrunt.hcl"));
    for path in regions {
        let text = read(&path);
        assert!(
            text.contains(r#"bootstrap_dir        = "${get_repo_root()}/bootstrap""#),
            "{} does not pass the repository's bootstrap/",
            path.display()
        );
    }
    assert!(
        !repo().join("terraform/modules/host/bootstrap").exists(),
        "stale copies"
    );
}

// --- the security group ----------------------------------------------------------------------

/// The port range of a rule, or `None` for "all traffic".
fn ports(body: &Body) -> Option<(f64, f64)> {
    let protocol = attr(body, "ip_protocol")
        .or_else(|| attr(body, "protocol"))
        .map(|e| e.to_string());
    if matches!(protocol.as_deref(), Some(r#""-1""#) | Some(r#""all""#)) {
        return None;
    }
    Some((
        number(attr(body, "from_port")).expect("from_port is a number"),
        number(attr(body, "to_port")).expect("to_port is a number"),
    ))
}

#[test]
fn ssh_is_open_only_to_allowed_ssh_cidrs() {
    for dir in module_dirs() {
        let files = module(&dir);
        // Rules are separate resources; inline ones and the older rule resource would escape
        // the checks below.
        for (name, group) in resources(&files, "aws_security_group") {
            assert!(
                child(group.body(), "ingress").is_empty() && child(group.body(), "egress").is_empty(),
                "{dir}: aws_security_group.{name} has inline rules; use aws_vpc_security_group_*_rule"
            );
        }
        assert!(resources(&files, "aws_security_group_rule").is_empty());

        for (name, rule) in resources(&files, "aws_vpc_security_group_ingress_rule") {
            let body = rule.body();
            let covers_ssh = match ports(body) {
                None => true,
                Some((from, to)) => from <= 22.0 && 22.0 <= to,
            };
            if !covers_ssh {
                continue;
            }
            assert_eq!(
                ports(body),
                Some((22.0, 22.0)),
                "{dir}: ingress rule {name} opens more than port 22"
            );
            assert_eq!(
                attr_text(body, "for_each"),
                "toset(var.allowed_ssh_cidrs)",
                "{dir}: ingress rule {name} reaches port 22 from something other than var.allowed_ssh_cidrs"
            );
            assert_eq!(
                attr_text(body, "cidr_ipv4"),
                r#"strcontains(each.value, ":") ? null : each.value"#
            );
            assert_eq!(
                attr_text(body, "cidr_ipv6"),
                r#"strcontains(each.value, ":") ? each.value : null"#
            );
            for other in ["prefix_list_id", "referenced_security_group_id"] {
                assert!(attr(body, other).is_none(), "{dir}: {name} sets {other}");
            }
        }
    }
    // And the variable itself refuses the whole internet.
    let variables = read(&repo().join("terraform/modules/host/variables.tf"));
    assert!(variables.contains(r#"!contains(["0.0.0.0/0", "::/0"], c)"#));
}

#[test]
fn only_80_and_443_are_open_to_everyone() {
    let host = module("terraform/modules/host");
    let mut open: Vec<(f64, f64)> = resources(&host, "aws_vpc_security_group_ingress_rule")
        .into_iter()
        .filter(|(_, rule)| attr(rule.body(), "for_each").is_none())
        .map(|(name, rule)| {
            assert_eq!(
                attr_text(rule.body(), "cidr_ipv4"),
                r#""0.0.0.0/0""#,
                "{name}"
            );
            ports(rule.body()).expect("a port range")
        })
        .collect();
    open.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(open, [(80.0, 80.0), (443.0, 443.0)]);
}

/// AWS refuses some characters in these free-text fields (an apostrophe in a security group
/// rule's description fails the apply, not the plan).
#[test]
fn descriptions_use_only_the_characters_aws_accepts() {
    let group_chars = |c: char| c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c);
    let dlm_chars = |c: char| c.is_ascii_alphanumeric() || " _-".contains(c);
    let host = module("terraform/modules/host");
    let mut checked = 0;
    let literal = |body: &Body, key: &str| -> String {
        // Interpolations of var.name ([a-z0-9-]) keep the text within both sets.
        attr_text(body, key)
            .trim_matches('"')
            .replace("${var.name}", "name")
    };
    for kind in [
        "aws_security_group",
        "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule",
    ] {
        for (name, block) in resources(&host, kind) {
            let text = literal(block.body(), "description");
            assert!(text.chars().all(group_chars), "{kind}.{name}: {text:?}");
            checked += 1;
        }
    }
    for (name, block) in resources(&host, "aws_dlm_lifecycle_policy") {
        let text = literal(block.body(), "description");
        assert!(
            text.chars().all(dlm_chars),
            "aws_dlm_lifecycle_policy.{name}: {text:?}"
        );
        for schedule in child(
            only_child(block.body(), "policy_details").body(),
            "schedule",
        ) {
            let text = literal(schedule.body(), "name");
            assert!(text.chars().all(dlm_chars), "schedule name {text:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, 7);
}

// --- DNS -------------------------------------------------------------------------------------

#[test]
fn dns_records_are_not_proxied() {
    let dns = module("terraform/modules/dns");
    let records = resources(&dns, "cloudflare_dns_record");
    assert_eq!(records.len(), 2, "apex and wildcard");
    for (name, record) in records {
        assert!(
            matches!(
                attr(record.body(), "proxied"),
                Some(Expression::Bool(false))
            ),
            "cloudflare_dns_record.{name} must not be proxied: HTTP-01 has to reach Traefik"
        );
        assert_eq!(attr_text(record.body(), "type"), r#""A""#);
    }
}

// --- monitoring ------------------------------------------------------------------------------

#[test]
fn status_check_alarms_recover_and_reboot() {
    let host = module("terraform/modules/host");
    for (name, metric, action) in [
        ("system_status", "StatusCheckFailed_System", "recover"),
        ("instance_status", "StatusCheckFailed_Instance", "reboot"),
    ] {
        let alarm = resource(&host, "aws_cloudwatch_metric_alarm", name).body();
        assert_eq!(attr_text(alarm, "metric_name"), format!(r#""{metric}""#));
        let actions = attr_text(alarm, "alarm_actions");
        assert!(
            actions.contains(&format!(":ec2:{action}"))
                && actions.contains("aws_sns_topic.alerts.arn"),
            "{name}: {actions}"
        );
    }
    let disks = read(&repo().join("terraform/modules/host/main.tf"));
    assert!(disks.contains(r#"root = "/""#) && disks.contains("data = local.data_mount"));
}

// --- Traefik: the names the agent writes ----------------------------------------------------

/// The first string literal in the body of `fn NAME()` in a Rust source file.
fn fn_string_literal(source: &str, name: &str) -> String {
    let start = source
        .find(&format!("fn {name}()"))
        .unwrap_or_else(|| panic!("no fn {name}()"));
    let rest = &source[start..];
    let open = rest.find('"').unwrap() + 1;
    let close = open + rest[open..].find('"').unwrap();
    rest[open..close].to_owned()
}

#[test]
fn traefik_names_match_the_agents_defaults() {
    let config = read(&repo().join("agent/src/host/config.rs"));
    let network = fn_string_literal(&config, "default_network");
    let entrypoint = fn_string_literal(&config, "default_entrypoints");
    let resolver = fn_string_literal(&config, "default_cert_resolver");
    assert_eq!(
        (network.as_str(), entrypoint.as_str(), resolver.as_str()),
        ("web", "websecure", "letsencrypt")
    );

    let compose = read(&repo().join("bootstrap/traefik/compose.yaml"));
    for flag in [
        format!("--providers.docker.network={network}"),
        "--providers.docker.exposedbydefault=false".to_owned(),
        format!("--entrypoints.{entrypoint}.address=:443"),
        format!("--entrypoints.web.http.redirections.entrypoint.to={entrypoint}"),
        format!("--certificatesresolvers.{resolver}.acme.httpchallenge=true"),
        format!("--certificatesresolvers.{resolver}.acme.httpchallenge.entrypoint=web"),
        format!("--certificatesresolvers.{resolver}.acme.storage=/letsencrypt/${{KELEV_ACME_STORAGE:?set in .env}}"),
        "/var/run/docker.sock:/var/run/docker.sock:ro".to_owned(),
    ] {
        assert!(
            compose.lines().any(|l| l.trim().trim_start_matches("- ") == flag),
            "bootstrap/traefik/compose.yaml lacks `{flag}`"
        );
    }
    assert!(
        compose.contains(&format!(
            "networks:\n  {network}:\n    name: {network}\n    external: true"
        )),
        "the Traefik project must join the external `{network}` network"
    );
    // Every resolver and entrypoint the project defines is one of these names.
    let defined = |prefix: &str| -> BTreeSet<String> {
        compose
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- ")?.strip_prefix(prefix))
            .map(|rest| rest.split('.').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        defined("--certificatesresolvers."),
        BTreeSet::from([resolver.clone()])
    );
    assert_eq!(
        defined("--entrypoints."),
        BTreeSet::from(["web".to_owned(), entrypoint.clone()])
    );

    // init.sh writes the same names into agent.json.
    let init = read(&repo().join("bootstrap/init.sh"));
    for line in [
        format!("readonly TRAEFIK_NETWORK={network}"),
        format!("readonly TRAEFIK_ENTRYPOINT={entrypoint}"),
        format!("readonly TRAEFIK_CERT_RESOLVER={resolver}"),
    ] {
        assert!(init.lines().any(|l| l == line), "init.sh lacks `{line}`");
    }
}

// --- variables and the inputs gen-config writes ------------------------------------------------

#[test]
fn every_variable_is_typed_and_described() {
    for dir in module_dirs() {
        let files = module(&dir);
        let names: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        for required in ["main.tf", "variables.tf", "outputs.tf", "versions.tf"] {
            assert!(names.contains(required), "{dir} has no {required}");
        }
        for (file, body) in &files {
            for variable in body.blocks().filter(|b| b.identifier() == "variable") {
                let name = variable.labels()[0].as_str();
                assert_eq!(
                    file, "variables.tf",
                    "{dir}: variable {name} is outside variables.tf"
                );
                assert!(
                    attr(variable.body(), "type").is_some(),
                    "{dir}: variable {name} has no type"
                );
                let described = matches!(
                    attr(variable.body(), "description"),
                    Some(Expression::String(s)) if s.len() > 10
                );
                assert!(described, "{dir}: variable {name} has no description");
            }
            for output in body.blocks().filter(|b| b.identifier() == "output") {
                let name = output.labels()[0].as_str();
                assert!(
                    attr(output.body(), "description").is_some(),
                    "{dir}: output {name} has no description"
                );
            }
        }
    }
}

/// Whether an input expression written by gen-config fits a declared variable type.
fn fits(kind: &Expression, value: &Expression) -> Result<(), String> {
    let is_string = |e: &Expression| matches!(e, Expression::String(_));
    match (kind.to_string().as_str(), value) {
        ("string", v) if is_string(v) => Ok(()),
        // `"${get_repo_root()}/bootstrap"`: a template yields a string too.
        ("string", Expression::TemplateExpr(_)) => Ok(()),
        ("number", Expression::Number(_)) => Ok(()),
        ("bool", Expression::Bool(_)) => Ok(()),
        ("list(string)", Expression::Array(items)) if items.iter().all(is_string) => Ok(()),
        // object({...}): exactly the declared attributes.
        (k, Expression::Object(_)) if k.starts_with("object(") => {
            let entries = hcl::Object::from([(hcl::ObjectKey::from("value"), value.clone())]);
            let map = hcl::expr::FuncCall::builder("map")
                .arg(kind.clone())
                .build();
            fits(
                &Expression::FuncCall(Box::new(map)),
                &Expression::Object(entries),
            )
        }
        (_, Expression::Object(entries)) => {
            // map(object({...})): every entry an object with exactly the declared attributes.
            let Expression::FuncCall(map) = kind else {
                return Err(format!("type {kind} given an object"));
            };
            let fields = object_fields(map)?;
            for (key, entry) in entries.iter() {
                let Expression::Object(entry) = entry else {
                    return Err(format!("entry {key} is not an object"));
                };
                let given: BTreeMap<String, &Expression> =
                    entry.iter().map(|(k, v)| (key_name(k), v)).collect();
                let declared: BTreeSet<&String> = fields.keys().collect();
                if given.keys().collect::<BTreeSet<_>>() != declared {
                    return Err(format!(
                        "entry {key} has attributes {:?}, not {declared:?}",
                        given.keys()
                    ));
                }
                for (field, field_kind) in &fields {
                    fits(field_kind, given[field]).map_err(|e| format!("{key}.{field}: {e}"))?;
                }
            }
            Ok(())
        }
        (kind, value) => Err(format!("type {kind} given {value}")),
    }
}

/// The attributes of `map(object({...}))`.
fn object_fields(map: &FuncCall) -> Result<BTreeMap<String, Expression>, String> {
    let inner = match (map.name.to_string().as_str(), map.args.as_slice()) {
        ("map", [Expression::FuncCall(object)]) if object.name.to_string() == "object" => object,
        _ => return Err("only map(object({...})) is expected here".into()),
    };
    let [Expression::Object(fields)] = inner.args.as_slice() else {
        return Err("object() takes one object".into());
    };
    Ok(fields
        .iter()
        .map(|(k, v)| (key_name(k), v.clone()))
        .collect())
}

#[test]
fn the_host_module_accepts_exactly_the_inputs_gen_config_writes() {
    let host = module("terraform/modules/host");
    let variables: BTreeMap<&str, &Block> = blocks(&host, "variable")
        .into_iter()
        .map(|b| (b.labels()[0].as_str(), b))
        .collect();
    let required: BTreeSet<&str> = variables
        .iter()
        .filter(|(_, b)| attr(b.body(), "default").is_none())
        .map(|(n, _)| *n)
        .collect();

    let mut regions: Vec<PathBuf> = std::fs::read_dir(repo().join("terraform/region"))
        .unwrap()
        .map(|e| e.unwrap().path().join("terragrunt.hcl"))
        .collect();
    regions.push(repo().join("ci/tests/golden/terraform/region/us-east-1/terragrunt.hcl"));
    regions.sort();
    assert!(regions.len() >= 2);
    for path in regions {
        let body = parse(&path);
        let source = attr_text(only_child(&body, "terraform").body(), "source");
        assert_eq!(source, r#""../../modules//host""#, "{}", path.display());
        let Some(Expression::Object(inputs)) = attr(&body, "inputs") else {
            panic!("{}: no inputs object", path.display());
        };
        let given: BTreeMap<String, &Expression> =
            inputs.iter().map(|(k, v)| (key_name(k), v)).collect();
        for (name, value) in &given {
            let variable = variables.get(name.as_str()).unwrap_or_else(|| {
                panic!(
                    "{}: input `{name}` has no variable in the host module",
                    path.display()
                )
            });
            let kind = attr(variable.body(), "type").unwrap();
            if let Err(e) = fits(kind, value) {
                panic!(
                    "{}: input `{name}` does not fit its variable: {e}",
                    path.display()
                );
            }
        }
        let missing: Vec<&&str> = required
            .iter()
            .filter(|n| !given.contains_key(**n))
            .collect();
        assert!(
            missing.is_empty(),
            "{}: variables without a default that gen-config does not write: {missing:?}",
            path.display()
        );
    }
    // And the list the brief names, so that a variable renamed on both sides is noticed.
    assert_eq!(
        required,
        BTreeSet::from([
            "name",
            "region",
            "ami_id",
            "instance_type",
            "domain",
            "data_volume_size_gb",
            "allowed_ssh_cidrs",
            "admin_ssh_public_key",
            "deploy_keys",
            "alert_email",
            "log_retention_days",
            "monitored_projects",
            "bootstrap_dir",
            "github_repository",
            "agent_release",
        ])
    );
}

// --- checkov skips ---------------------------------------------------------------------------

#[test]
fn every_checkov_skip_gives_its_reason() {
    let mut skips = 0;
    for dir in module_dirs() {
        for (file, _) in module(&dir) {
            let text = read(&repo().join(&dir).join(&file));
            for (n, line) in text.lines().enumerate() {
                let Some(at) = line.find("checkov:skip=") else {
                    continue;
                };
                skips += 1;
                let rest = &line[at + "checkov:skip=".len()..];
                let (id, reason) = rest.split_once(':').unwrap_or((rest, ""));
                let id_ok = id.starts_with("CKV") && id.split('_').count() == 3;
                assert!(
                    id_ok && reason.trim().len() >= 30,
                    "{dir}/{file}:{}: a skip needs a check id and its reason: {line}",
                    n + 1
                );
            }
        }
    }
    assert!(skips > 0);
}
