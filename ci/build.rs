//! `kelev --version` names the commit it was built from, as `kelev-agent version` does: the
//! agent's build script, run for this crate too.

#[path = "../agent/build.rs"]
mod stamp;

fn main() {
    stamp::main();
}
