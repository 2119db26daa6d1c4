//! What a verb declares about itself: its name, its usage and help line, the options it takes,
//! and who may run it. One [`Spec`] per verb, in the verb's own file; the table in
//! `verbs/mod.rs` lists them.

/// An option a verb takes.
#[derive(Debug)]
pub(crate) struct Opt {
    pub(crate) name: &'static str,
    /// Whether a value follows it (`--tail 50`).
    pub(crate) takes_value: bool,
}

impl Opt {
    pub(crate) const fn flag(name: &'static str) -> Opt {
        Opt {
            name,
            takes_value: false,
        }
    }

    pub(crate) const fn valued(name: &'static str) -> Opt {
        Opt {
            name,
            takes_value: true,
        }
    }
}

/// Which keys may run a verb (see docs/security.md, "What each control stops").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grant {
    /// Any key, even one with no verbs: it reveals nothing about the host's projects.
    Anyone,
    /// A key whose `verbs` names it or holds `"*"`.
    Star,
    /// Only a key whose `verbs` names it: `"*"` does not reach it. Reading or changing
    /// secrets, and anything that would run a command in a container, is of this class.
    Named,
}

#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    /// What follows the name in `help` (`<project> [<commit>] [--force] [--json]`).
    pub(crate) usage: &'static str,
    /// The help line; empty for verbs listed together at the end (`help, version`).
    pub(crate) about: &'static str,
    pub(crate) options: &'static [Opt],
    pub(crate) grant: Grant,
    /// Whether only a key for every project (`"projects": ["*"]`) may run it.
    pub(crate) all_projects: bool,
}

impl Spec {
    /// The defaults a verb's spec starts from.
    pub(crate) const fn new(name: &'static str, usage: &'static str, about: &'static str) -> Spec {
        Spec {
            name,
            usage,
            about,
            options: &[],
            grant: Grant::Star,
            all_projects: false,
        }
    }

    pub(crate) const fn options(self, options: &'static [Opt]) -> Spec {
        Spec { options, ..self }
    }

    pub(crate) const fn grant(self, grant: Grant) -> Spec {
        Spec { grant, ..self }
    }

    pub(crate) const fn for_all_projects(self) -> Spec {
        Spec {
            all_projects: true,
            ..self
        }
    }

    pub(crate) fn option(&self, name: &str) -> Option<&'static Opt> {
        self.options.iter().find(|o| o.name == name)
    }
}
