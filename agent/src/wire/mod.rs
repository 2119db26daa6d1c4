//! What arrives over the wire: the grammar that reads a command's bytes, the spec each verb
//! declares, and the policy that says whether a key may run it.

pub(crate) mod grammar;
pub(crate) mod grammar_error;
pub(crate) mod policy;
pub(crate) mod spec;
