//! Printing that never panics. `println!` panics when the reader of a pipe has gone
//! (`mixspec fit … | head`); a Unix tool stops quietly then, and so does mixspec: whatever it
//! writes to files is complete before it prints, so nothing is lost but text nobody reads.
//! Any other failure to print (a full disk behind a redirection) ends the run with a message
//! and a failure status, never with a half-told result and success.
//!
//! Use through the `out!`, `outln!` and `errln!` macros of `main.rs`.

use std::io::{self, Write};

/// Where a text goes.
#[derive(Clone, Copy)]
pub enum Stream {
    Out,
    Err,
}

/// Writes `text` to `stream` whole, or ends the process as described above.
pub fn write(stream: Stream, text: &str) {
    let result = match stream {
        Stream::Out => {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        }
        Stream::Err => io::stderr().lock().write_all(text.as_bytes()),
    };
    match result {
        Ok(()) => {}
        // The reader stopped reading: as `head` wants, stop too, quietly.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            let which = match stream {
                Stream::Out => "standard output",
                Stream::Err => "standard error",
            };
            // Best effort: standard error may be what failed.
            let _ = writeln!(io::stderr(), "error: cannot write to {which}: {e}");
            std::process::exit(1);
        }
    }
}
