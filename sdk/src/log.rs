//! Lines for the host's log, tagged there with the plugin's id.
//!
//! A plugin's stdout and stderr are captured by the host, not shown; these functions are
//! the way to leave a trace. Outside WebAssembly (a plugin's native unit tests) they print
//! to stderr instead, since there is no host to call.

use crate::bindings::validator::clearctx::plugin::types::Level;

/// Logs `message` at level trace.
pub fn trace(message: &str) {
    write(Level::Trace, message);
}

/// Logs `message` at level debug.
pub fn debug(message: &str) {
    write(Level::Debug, message);
}

/// Logs `message` at level info.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Logs `message` at level warn.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}

/// Logs `message` at level error.
pub fn error(message: &str) {
    write(Level::Error, message);
}

#[cfg(target_arch = "wasm32")]
fn write(level: Level, message: &str) {
    crate::bindings::validator::clearctx::plugin::host::log(level, message);
}

#[cfg(not(target_arch = "wasm32"))]
fn write(level: Level, message: &str) {
    eprintln!("[{level:?}] {message}");
}
