//! `model`: plain data below `store`. The persisted shapes of the nouns, who is calling,
//! and what a plugin call used. Nothing here reads or writes; every module may use it.

pub mod artifacts;
mod caller;
pub mod contracts;
pub mod inbox;
pub mod pipelines;
pub mod sessions;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use caller::Caller;

/// The name clearctx's MCP server goes by in Claude Code (`mcp__clearctx__<tool>`).
pub const MCP_SERVER_NAME: &str = "clearctx";

/// Lowercase hex SHA-256 of `bytes`: artifact versions and plugin files.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// What one plugin call used.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Receipt {
    pub fuel_used: u64,
    pub wall_us: u64,
    pub peak_memory_bytes: u64,
    /// The call ran in an instance that had served earlier calls (pure plugins only).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reused: bool,
    /// The answer came from the memo of an earlier identical call (pure plugins only):
    /// nothing ran, and the figures above are the lookup's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub memoized: bool,
}
