//! A host that lost everything: what a replaced instance, a new region or a restore from an old
//! snapshot looks like to CI.

use crate::world::{docker, World};

impl World {
    /// Take down every container and network of this world's projects and empty the agent
    /// root (manifest, state, releases), as a fresh host would be. Built images stay; the next
    /// deploy does not rely on them.
    pub fn wipe(&self) {
        let labels = docker(&[
            "ps",
            "-a",
            "--format",
            "{{.ID}} {{.Label \"com.docker.compose.project\"}}",
        ]);
        let mut projects = Vec::new();
        for line in labels.lines() {
            if let Some((id, project)) = line.split_once(' ') {
                if project.starts_with(&self.prefix) {
                    docker(&["rm", "-f", id]);
                    projects.push(project.to_owned());
                }
            }
        }
        projects.sort();
        projects.dedup();
        for project in projects {
            docker(&["network", "rm", &format!("{project}_default")]);
        }
        for entry in std::fs::read_dir(&self.root).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() && !path.is_symlink() {
                std::fs::remove_dir_all(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }
}
