//! What must hold when things go wrong: the agent killed or interrupted (crash), the Docker
//! engine gone or stopped (engine), a remote, a disk, a state file or a build failing (faults),
//! hostile commands through sshd (hostile), and many calls at once (concurrency).

mod concurrency;
mod crash;
mod engine;
mod faults;
mod hostile;
