//! A stand-in syslog daemon: a datagram socket at /dev/log collecting what is sent to it, so a
//! test can read what the agent logged. One at a time; removed when dropped.

use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Mutex, MutexGuard};

const PATH: &str = "/dev/log";

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

pub struct SyslogCapture {
    lines: Arc<Mutex<Vec<String>>>,
    _turn: MutexGuard<'static, ()>,
}

impl SyslogCapture {
    pub fn start() -> SyslogCapture {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        if std::path::Path::new(PATH).exists() {
            // A socket nobody is bound to any more (a test run killed before its drop) is
            // refused on connect: take its place. One that answers is a daemon's.
            let stale = UnixDatagram::unbound()
                .and_then(|s| s.connect(PATH))
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused);
            assert!(
                stale,
                "{PATH} exists and a syslog daemon answers there: this test needs to stand in for it"
            );
            eprintln!("{PATH}: a socket left by an earlier run, which nobody answers; replaced");
            std::fs::remove_file(PATH).unwrap();
        }
        let socket = UnixDatagram::bind(PATH).expect("bind /dev/log");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(PATH, std::fs::Permissions::from_mode(0o666)).unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = socket.recv(&mut buf) {
                let line = String::from_utf8_lossy(&buf[..n]).into_owned();
                sink.lock().unwrap().push(line);
            }
        });
        SyslogCapture { lines, _turn: turn }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for SyslogCapture {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(PATH);
    }
}
