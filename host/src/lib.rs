//! clearctx: a coordination hub for teams of Claude Code sessions.
//!
//! Start at [`hub::Hub`], the API both adapters call: [`mcp`] (the stdio MCP server) and
//! [`cli`] (the `clearctx` command). `ARCHITECTURE.md` at the repository root is the map.

pub mod artifacts;
pub mod chat;
pub mod cli;
pub mod continuity;
pub mod contracts;
pub mod decisions;
pub mod error;
pub mod hub;
pub mod ids;
pub mod inbox;
pub mod lineage;
pub mod mcp;
pub mod model;
pub mod ops;
pub mod pipelines;
pub mod plugins;
pub mod reactions;
pub mod schema;
pub mod sessions;
pub mod snapshots;
pub mod store;
pub mod teams;
pub mod time;

pub use error::{Error, Result};
pub use hub::{Caller, Hub};
