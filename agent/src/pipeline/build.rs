//! Step 3, build: the release's images (`compose build`), while the old release serves. A
//! rollback, or a restart for new secrets, runs the images kept from the release's own build
//! and skips this step. Pulling images and running release tasks come after it, before the
//! start.

use std::io::Write;

use crate::error::Error;
use crate::host::signals;
use crate::release::docker::Docker;
use crate::release::release::Release;

pub(crate) fn build(
    docker: &Docker,
    release: &Release,
    progress: &mut dyn Write,
) -> Result<(), Error> {
    let _ = writeln!(
        progress,
        "building {} at {}",
        release.project.name, release.commit
    );
    release.build(docker, progress)?;
    signals::check()
}
