//! The real Terraform and AWS provider against moto: bootstrap/state applied, then the host module
//! applied with the inputs the real `kelev gen-config` writes for the region, handed over the
//! way Terragrunt would (`kelev_e2e::terraform`). Terragrunt itself cannot run here (it is not
//! installed, and it would fetch nothing else), so what it would generate from root.hcl and
//! terragrunt.hcl is written by the harness from the generated files. Where moto cannot follow,
//! the bridge is `MOTO_GAPS` (an override file beside the module's copy) and one
//! `modify-instance-attribute` call, each saying which gap it covers; the test prints what was
//! planned but not applied. One apply serves every check (about two minutes on idle cores).

use std::collections::BTreeSet;

use kelev_e2e::terraform::{changes, Host, AMAZON_LINUX_AMI};
use kelev_e2e::{workspace_binary, Image, Run};

/// config.json's agent pin set to the SHA-256 of the `kelev-agent` built here (the example's
/// placeholder is refused by the module, as it should be).
fn pin_built_agent(config: &mut serde_json::Value) {
    if let Some(agent) = config.get_mut("agent") {
        let sum = Run::new("sha256sum")
            .arg(workspace_binary("kelev-agent"))
            .run()
            .ok();
        agent["sha256"] = sum.stdout.split_whitespace().next().unwrap().into();
    }
}

/// Addresses of `changes` whose actions are exactly `actions`.
fn with_actions(changes: &[(String, Vec<String>)], actions: &[&str]) -> BTreeSet<String> {
    changes
        .iter()
        .filter(|(_, a)| a.iter().map(String::as_str).eq(actions.iter().copied()))
        .map(|(address, _)| address.clone())
        .collect()
}

fn set(addresses: &[&str]) -> BTreeSet<String> {
    addresses.iter().map(|a| a.to_string()).collect()
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn host_module_applies_and_plans_as_documented() {
    let started = std::time::Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let host = Host::apply(tmp.path(), pin_built_agent);
    let tf = &host.host;

    // bootstrap/state made the bucket config.json names.
    let bucket = host.region.config["state_bucket"].as_str().unwrap();
    assert_eq!(host.bootstrap.output("bucket"), bucket);
    host.moto
        .aws()
        .args(["s3api", "get-bucket-versioning", "--bucket", bucket])
        .run()
        .ok()
        .stdout_has("\"Enabled\"");

    // Only DLM is planned and not created (the other gaps change settings, not resources).
    assert_eq!(host.not_applied, ["aws_dlm_lifecycle_policy.data"]);

    // Finding 1: right after the apply, nothing to change. Before the fix the provider read
    // associate_public_ip_address back as true once the Elastic IP was associated, and this
    // plan replaced the instance (hashicorp/terraform-provider-aws#37318).
    tf.plan_exit(&[]).code(0);

    // What EC2 hands cloud-init is the cloud-config Terraform built.
    let user_data = kelev_e2e::terraform::user_data(&host.moto, &host.instance_id());
    assert!(user_data.starts_with("#cloud-config\n"), "{user_data}");
    assert!(
        user_data.contains("/opt/kelev/bootstrap/init.sh"),
        "{user_data}"
    );

    // Two read-only plans side by side (no refresh: the plan above just did it; no lock).
    std::thread::scope(|scope| {
        // Another SSH source: security group rules only, never the instance.
        scope.spawn(|| {
            let cidr = tf.plan_json(&[
                "-refresh=false",
                "-lock=false",
                "-var",
                r#"allowed_ssh_cidrs=["203.0.113.7/32","198.51.100.0/24"]"#,
            ]);
            let cidr = changes(&cidr);
            eprintln!("allowed_ssh_cidrs changed, planned: {cidr:?}");
            assert!(!cidr.is_empty());
            for (address, _) in &cidr {
                assert!(
                    address.starts_with("aws_vpc_security_group_ingress_rule."),
                    "a change of allowed_ssh_cidrs plans {address}: {cidr:?}"
                );
            }
        });
        // Finding 4: an AMI that is not Canonical's Ubuntu 22.04 amd64 is refused at plan
        // time, with what it is.
        scope.spawn(|| {
            let ami = format!("ami_id={AMAZON_LINUX_AMI}");
            let refused = tf
                .plan_exit(&["-refresh=false", "-lock=false", "-var", &ami])
                .code(1);
            let message = refused
                .stderr
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            for expected in [
                format!("ami_id {AMAZON_LINUX_AMI} is not Canonical's Ubuntu 22.04 amd64"),
                format!("\"{}\"", Image::amazon_linux(AMAZON_LINUX_AMI).name),
                format!("owned by account {}", Image::AMAZON),
            ] {
                assert!(message.contains(&expected), "{}", refused.report());
            }
        });
    });

    // docs/runbook.md, "Restore from a snapshot": the volume out of the state, the snapshot in
    // restore_snapshot_id; the plan creates the volume from it, replaces the instance and
    // what ties it to the volume and the address, updates the alarms that name the instance
    // and the module's record of the volume's id, and destroys nothing else. The Elastic IP
    // stays. (Before replace_triggered_by, the provider planned the instance's new user data
    // as an in-place update: the old instance would have kept running without init.sh.)
    let volume = tf.output("data_volume_id");
    let snapshot = host
        .moto
        .aws()
        .args(["ec2", "create-snapshot", "--volume-id"])
        .arg(volume.as_str().unwrap())
        .run()
        .ok()
        .json()["SnapshotId"]
        .as_str()
        .unwrap()
        .to_owned();
    tf.run(&["state", "rm", "aws_ebs_volume.data"]).ok();
    let restore = tf.plan_json(&["-var", &format!("restore_snapshot_id={snapshot}")]);
    let planned = changes(&restore);
    eprintln!("restore from {snapshot}, planned: {planned:?}");
    assert_eq!(
        with_actions(&planned, &["create"]),
        set(&["aws_ebs_volume.data"])
    );
    assert_eq!(
        with_actions(&planned, &["delete", "create"]),
        set(&[
            "aws_eip_association.host",
            "aws_instance.host",
            "aws_volume_attachment.data",
        ])
    );
    assert_eq!(with_actions(&planned, &["delete"]), set(&[]));
    for address in with_actions(&planned, &["update"]) {
        assert!(
            address.starts_with("aws_cloudwatch_metric_alarm.")
                || address == "terraform_data.data_volume",
            "the restore updates {address}"
        );
    }
    assert!(!planned.iter().any(|(a, _)| a == "aws_eip.host"));
    let volume_after = restore["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "aws_ebs_volume.data")
        .unwrap();
    assert_eq!(volume_after["change"]["after"]["snapshot_id"], snapshot);

    eprintln!("terraform group: {:?}", started.elapsed());
}
