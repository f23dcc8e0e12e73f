//! What the commands print on standard output.
#![forbid(unsafe_code)]

/// Writes to standard output; a reader that went away (`failinject points | head`) is not an
/// error worth a message.
pub fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
