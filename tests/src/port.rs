//! Loopback ports for the daemons of a test, held from the moment they are chosen.
//!
//! Picking a free port by binding port 0 and closing the socket leaves a gap in which anyone
//! else (a parallel test, an outgoing connection) may be handed the same port before the daemon
//! binds it. A [`Port`] closes that gap: its socket stays bound, with `SO_REUSEADDR`, and never
//! listens. The kernel then gives the port to no other `bind` and no outgoing connection, while
//! a daemon that sets `SO_REUSEADDR` too (sshd, lighttpd, moto's server and ssh's forwarding
//! listeners all do) can bind and listen on it, and again after a restart.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    bind, getsockname, setsockopt, socket, sockopt::ReuseAddr, AddressFamily, SockFlag, SockType,
    SockaddrIn,
};

/// A loopback port nobody else gets while this is alive: keep it as long as its daemon runs.
pub struct Port {
    number: u16,
    _socket: OwnedFd,
}

impl Port {
    /// A port of 127.0.0.1 chosen by the kernel, held.
    pub fn hold() -> Port {
        let socket = socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .expect("a TCP socket");
        setsockopt(&socket, ReuseAddr, &true).expect("SO_REUSEADDR");
        bind(socket.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, 0)).expect("a free loopback port");
        let number = getsockname::<SockaddrIn>(socket.as_raw_fd())
            .expect("the bound address")
            .port();
        Port {
            number,
            _socket: socket,
        }
    }

    pub fn number(&self) -> u16 {
        self.number
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_against_others_yet_a_daemon_can_listen() {
        let port = Port::hold();
        let address = ("127.0.0.1", port.number());
        // What std's TcpListener does (SO_REUSEADDR, bind, listen): a daemon gets the port ...
        let daemon = std::net::TcpListener::bind(address).expect("a daemon binds the held port");
        std::net::TcpStream::connect(address).expect("and answers there");
        drop(daemon);
        // ... while no kernel-chosen port is ever this one.
        for _ in 0..2000 {
            let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            assert_ne!(other.local_addr().unwrap().port(), port.number());
        }
    }
}
