//! Standard output that remembers its first write error. Code that prints may ignore the result
//! of one `writeln!` (a warning line), but the run must not end with exit 0 when what it printed
//! did not arrive: CI reads `kelev decide` through `$GITHUB_OUTPUT`, a failed write there would
//! read as "unchanged". Both binaries wrap stdout in it and check [`CheckedOutput::finish`] last.

use std::io::{self, Write};

pub struct CheckedOutput<W: Write> {
    inner: W,
    failed: Option<io::Error>,
}

impl<W: Write> CheckedOutput<W> {
    pub fn new(inner: W) -> CheckedOutput<W> {
        CheckedOutput {
            inner,
            failed: None,
        }
    }

    /// Flush, and give the first error any write or the flush met.
    pub fn finish(mut self) -> io::Result<()> {
        let flushed = self.inner.flush();
        match self.failed.take() {
            Some(e) => Err(e),
            None => flushed,
        }
    }

    fn note<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result {
            if self.failed.is_none() {
                self.failed = Some(io::Error::new(e.kind(), e.to_string()));
            }
        }
        result
    }
}

impl<W: Write> Write for CheckedOutput<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.inner.write(buf);
        self.note(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.inner.flush();
        self.note(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ignored_write_error_is_kept() {
        let mut full = CheckedOutput::new(std::fs::File::create("/dev/full").unwrap());
        let _ = writeln!(full, "lost");
        assert_eq!(
            full.finish().unwrap_err().to_string(),
            "No space left on device (os error 28)"
        );
        let mut fine = CheckedOutput::new(Vec::new());
        writeln!(fine, "kept").unwrap();
        fine.finish().unwrap();
    }
}
