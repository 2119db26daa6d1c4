//! `kelev amis`: config/region-mapping.json, the Ubuntu 22.04 image each region's host boots,
//! read from Canonical's own published SSM parameter and checked against the image it names,
//! with the day it was read. The mapping's type lives here too: `gen-config` reads the file
//! through [`load`].
//!
//! kelev has no AWS SDK: it runs the AWS CLI, which finds credentials, regions' endpoints and
//! `AWS_ENDPOINT_URL` the way it always does.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::infra_config::InfraConfig;

/// Canonical publishes the id of its current Ubuntu 22.04 amd64 server image under this name in
/// every region (<https://documentation.ubuntu.com/aws/>, "Find Ubuntu images on AWS").
pub(crate) const PARAMETER: &str =
    "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id";

/// Canonical's AWS account, the owner of the official Ubuntu images (commercial regions).
pub(crate) const CANONICAL: &str = "099720109477";

/// One region's image. `verified` is the UTC day `kelev amis` read it (`null` or absent: never
/// checked, and `gen-config` warns); `source` says where the id came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegionImage {
    pub(crate) ami: String,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) verified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<String>,
}

/// Region name -> image, sorted by region.
pub(crate) type Mapping = BTreeMap<String, RegionImage>;

/// Read and check the mapping at `path`: every id an AMI id, every name an Ubuntu 22.04 amd64
/// server image's.
pub(crate) fn load(path: &Path) -> Result<Mapping, Error> {
    let mapping: Mapping = crate::error::read_json(path)?;
    for (region, image) in &mapping {
        check_ami_id(&image.ami)
            .and_then(|()| check_name(&image.name))
            .map_err(|message| Error::data_at(path, format!("region `{region}`: {message}")))?;
    }
    Ok(mapping)
}

/// One line on stderr for each of `regions` whose image was never verified.
pub(crate) fn warn_unverified(path: &Path, mapping: &Mapping, regions: &[String]) {
    for region in regions {
        if let Some(image) = mapping.get(region).filter(|i| i.verified.is_none()) {
            eprintln!(
                "warning: {}: `{}` for `{region}` was never verified: run `kelev amis` before applying",
                path.display(),
                image.ami
            );
        }
    }
}

/// The file's bytes: sorted by region, two-space indented, one trailing newline.
pub(crate) fn render(mapping: &Mapping) -> String {
    let mut text = serde_json::to_string_pretty(mapping).expect("a map of strings serializes");
    text.push('\n');
    text
}

/// `ami-` and 8 or 17 hex digits (the old and the current form).
pub(crate) fn check_ami_id(id: &str) -> Result<(), String> {
    let hex = id.strip_prefix("ami-").unwrap_or("");
    if matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(format!("`{id}` is not an AMI id"))
    }
}

/// Canonical names its 22.04 amd64 server images `ubuntu/images/<disk>/ubuntu-jammy-22.04-amd64-server-<date>`.
fn check_name(name: &str) -> Result<(), String> {
    let shaped = name
        .strip_prefix("ubuntu/images/")
        .and_then(|rest| rest.split_once("/ubuntu-jammy-22.04-amd64-server-"))
        .is_some_and(|(disk, date)| !disk.contains('/') && !date.is_empty());
    if shaped {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not an Ubuntu 22.04 amd64 server image"
        ))
    }
}

/// What `aws ec2 describe-images` said of the parameter's image; `Err` says what it is instead.
fn check_image(ami: &str, image: &Image) -> Result<(), String> {
    let name = image.name.as_deref().unwrap_or("(no name)");
    if image.owner_id != CANONICAL {
        return Err(format!(
            "`{ami}` is `{name}`, owned by account {}, not Canonical's ({CANONICAL})",
            image.owner_id
        ));
    }
    check_name(name).map_err(|e| format!("`{ami}`: {e}"))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetParameter {
    parameter: Parameter,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Parameter {
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeImages {
    images: Vec<Image>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Image {
    image_id: String,
    owner_id: String,
    name: Option<String>,
}

pub(crate) fn run(config: &Path, mapping_path: &Path, out: &mut dyn Write) -> Result<i32, Error> {
    let config = InfraConfig::load(config)?;
    let current = if mapping_path.exists() {
        load(mapping_path)?
    } else {
        Mapping::new()
    };
    let regions: BTreeSet<&String> = config.regions.iter().chain(current.keys()).collect();
    let today = utc_date(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    let mut mapping = Mapping::new();
    for region in regions {
        let image = read_region(region, &today)?;
        let change = match current.get(region) {
            Some(old) if old.ami == image.ami => "unchanged".to_owned(),
            Some(old) => format!("was {}", old.ami),
            None => "new".to_owned(),
        };
        let _ = writeln!(out, "{region}: {} {} ({change})", image.ami, image.name);
        mapping.insert(region.clone(), image);
    }
    write_atomically(mapping_path, &render(&mapping))?;
    let _ = writeln!(
        out,
        "wrote {} (verified {today}); run `kelev gen-config` and commit both",
        mapping_path.display()
    );
    Ok(0)
}

/// Canonical's current image in `region`, checked to be what the parameter claims.
fn read_region(region: &str, today: &str) -> Result<RegionImage, Error> {
    let parameter: GetParameter = aws(&[
        "ssm",
        "get-parameter",
        "--region",
        region,
        "--name",
        PARAMETER,
    ])?;
    let ami = parameter.parameter.value;
    let bad = |message: String| Error::Data {
        what: format!("{PARAMETER} in {region}"),
        message,
    };
    check_ami_id(&ami).map_err(bad)?;
    let images: DescribeImages = aws(&[
        "ec2",
        "describe-images",
        "--region",
        region,
        "--image-ids",
        &ami,
    ])?;
    let image = images
        .images
        .into_iter()
        .find(|i| i.image_id == ami)
        .ok_or_else(|| bad(format!("`aws ec2 describe-images` does not know `{ami}`")))?;
    check_image(&ami, &image).map_err(bad)?;
    Ok(RegionImage {
        ami,
        name: image.name.unwrap_or_default(),
        verified: Some(today.to_owned()),
        source: Some(format!("ssm:{PARAMETER}")),
    })
}

/// Run `aws ARGS --output json` and parse its answer. Not starting and failing are both
/// "unavailable" (69), each with its own message.
fn aws<T: serde::de::DeserializeOwned>(args: &[&str]) -> Result<T, Error> {
    let shown = format!("aws {}", args.join(" "));
    let output = duct::cmd("aws", args.iter().chain(&["--output", "json"]))
        .env("AWS_PAGER", "")
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|e| Error::Unavailable {
            message: format!(
                "cannot run `aws`: {e}\nhint: install the AWS CLI (`nix develop` has it) and check that `aws sts get-caller-identity` answers"
            ),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        return Err(Error::Unavailable {
            message: format!(
                "`{shown}` failed ({}): {}",
                output.status,
                tail[tail.len().saturating_sub(3)..].join(" / ").trim()
            ),
        });
    }
    serde_json::from_slice(&output.stdout).map_err(|e| Error::Data {
        what: shown,
        message: format!("unexpected answer: {e}"),
    })
}

/// Write `text` to a new file beside `path` and rename it over `path`: a reader sees the old
/// file or the new one, never a part.
fn write_atomically(path: &Path, text: &str) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::data_at(path, e.to_string());
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::data_at(path, "not a file name".into()))?;
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// The UTC day of `secs` after the epoch, `YYYY-MM-DD` (Howard Hinnant's `civil_from_days`).
fn utc_date(secs: u64) -> String {
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20231207";

    fn image(owner: &str, name: &str) -> Image {
        Image {
            image_id: "ami-0123456789abcdef0".into(),
            owner_id: owner.into(),
            name: Some(name.into()),
        }
    }

    #[test]
    fn renders_sorted_with_the_verification() {
        let mut mapping = Mapping::new();
        for (region, verified) in [("us-west-2", None), ("eu-central-1", Some("2026-12-07"))] {
            mapping.insert(
                region.into(),
                RegionImage {
                    ami: "ami-0123456789abcdef0".into(),
                    name: NAME.into(),
                    verified: verified.map(Into::into),
                    source: verified.map(|_| format!("ssm:{PARAMETER}")),
                },
            );
        }
        assert_eq!(
            render(&mapping),
            format!(
                r#"{{
  "eu-central-1": {{
    "ami": "ami-0123456789abcdef0",
    "name": "{NAME}",
    "verified": "2026-12-07",
    "source": "ssm:{PARAMETER}"
  }},
  "us-west-2": {{
    "ami": "ami-0123456789abcdef0",
    "name": "{NAME}",
    "verified": null
  }}
}}
"#
            )
        );
        let back: Mapping = serde_json::from_str(&render(&mapping)).unwrap();
        assert_eq!(back, mapping);
    }

    #[test]
    fn malformed_ids_are_refused() {
        for good in ["ami-0123456789abcdef0", "ami-1e749f67"] {
            assert_eq!(check_ami_id(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "ami-",
            "0123456789abcdef0",
            "ami-0123456789ABCDEF0",
            "ami-0123456789abcdef",
            "ami-0123456789abcdefg",
            "ami-0123456789abcdef01",
            "resolve:ssm:/aws/service/x",
            "ami-1e749f67\n",
        ] {
            assert_eq!(check_ami_id(bad), Err(format!("`{bad}` is not an AMI id")));
        }
    }

    #[test]
    fn only_canonicals_jammy_amd64_server_passes() {
        assert_eq!(check_image("ami-1", &image(CANONICAL, NAME)), Ok(()));
        let gp3 = "ubuntu/images/hvm-ssd-gp3/ubuntu-jammy-22.04-amd64-server-20240301";
        assert_eq!(check_image("ami-1", &image(CANONICAL, gp3)), Ok(()));
        let al2 = "amzn2-ami-kernel-5.10-hvm-2.0.20220218.3-x86_64-gp2";
        assert_eq!(
            check_image("ami-1", &image("137112412989", al2)),
            Err(format!(
                "`ami-1` is `{al2}`, owned by account 137112412989, not Canonical's (099720109477)"
            ))
        );
        for name in [
            "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-arm64-server-20231207",
            "ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-20231207",
            "ubuntu-pro-server/images/hvm-ssd/ubuntu-jammy-22.04-amd64-pro-server-20231207",
            "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-",
            "ubuntu/images/a/b/ubuntu-jammy-22.04-amd64-server-20231207",
        ] {
            assert!(
                check_image("ami-1", &image(CANONICAL, name)).is_err(),
                "{name}"
            );
        }
    }

    #[test]
    fn utc_days() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_868_799), "2000-02-29");
        assert_eq!(utc_date(951_868_800), "2000-03-01");
        assert_eq!(utc_date(1_709_251_199), "2024-02-29");
        assert_eq!(utc_date(1_798_761_600), "2027-01-01");
        assert_eq!(utc_date(4_107_456_000), "2100-02-28");
    }
}
