//! The hub's typed errors. Every message names the thing, the problem and, where there is
//! one, the next step; adapters (MCP, CLI) only choose how to show them.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An argument breaks a rule; `field` is its name as the caller spelled it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A referenced object is missing.
    #[error("{what} `{id}` does not exist{hint}")]
    NotFound {
        what: &'static str,
        id: String,
        hint: String,
    },
    /// The request is well formed but the current state forbids it (wrong status,
    /// duplicate ID, dependency cycle, retries used up).
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this (another session's contract, another identity); the
    /// message says who may.
    #[error("{0}")]
    Forbidden(String),
    #[error("cannot open the data dir `{path}`: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A plugin failed, or could not be loaded; `code` says how (e.g. `out_of_fuel`).
    #[error("plugin `{plugin}` {message}")]
    Plugin {
        plugin: String,
        code: &'static str,
        message: String,
    },
    /// A validator rejected an artifact's data; every violation is listed.
    #[error("{}", rejected_message(.artifact_type, .plugin, .violations))]
    Rejected {
        artifact_type: String,
        plugin: String,
        violations: Vec<Violation>,
    },
    /// The database was written by a newer clearctx; it is left as it is.
    #[error(
        "`{}` was written by a newer clearctx (schema version {found}; this clearctx reads up to {supported}): nothing in it was changed; upgrade clearctx, or use another data dir (--home)",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    /// The database file could not be opened or first read (missing permissions, a
    /// read-only file system, a directory in its place, a damaged file).
    #[error(
        "cannot open the database `{}`: {source}; the data dir and the file in it must be readable and writable by this user (choose another data dir with --home or CLEARCTX_HOME)",
        path.display()
    )]
    OpenDatabase {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// How an adapter should classify an error (JSON-RPC code, exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidInput,
    NotFound,
    Conflict,
    Forbidden,
    /// A plugin failed (a trap, a limit, its own error): not the caller's input.
    Plugin,
    Internal,
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound {
            what,
            id: id.into(),
            hint: String::new(),
        }
    }

    pub fn not_found_hint(what: &'static str, id: impl Into<String>, hint: &str) -> Self {
        Error::NotFound {
            what,
            id: id.into(),
            hint: format!("; {hint}"),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict(message.into())
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid { .. } | Error::Rejected { .. } => ErrorKind::InvalidInput,
            Error::Plugin { .. } => ErrorKind::Plugin,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Conflict(_) | Error::NewerSchema { .. } => ErrorKind::Conflict,
            Error::Forbidden(_) => ErrorKind::Forbidden,
            Error::DataDir { .. }
            | Error::OpenDatabase { .. }
            | Error::Sqlite(_)
            | Error::Migration(_)
            | Error::Corrupt(_) => ErrorKind::Internal,
        }
    }

    /// The error as data, the same on every surface: `code`, `message`, and what a caller
    /// acts on (`field`; a rejected artifact's `violations` and `plugin`; a failed plugin's
    /// `plugin` and `plugin_code`).
    pub fn detail(&self) -> serde_json::Value {
        let mut d = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        match self {
            Error::Invalid { field, .. } => d["field"] = serde_json::json!(field),
            Error::Rejected {
                violations, plugin, ..
            } => {
                d["violations"] = serde_json::to_value(violations).unwrap_or_default();
                d["plugin"] = serde_json::json!(plugin);
            }
            Error::Plugin { plugin, code, .. } => {
                d["plugin"] = serde_json::json!(plugin);
                d["plugin_code"] = serde_json::json!(code);
            }
            _ => {}
        }
        d
    }

    /// Short machine-readable code, the same on every surface.
    pub fn code(&self) -> &'static str {
        match self.kind() {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::Plugin => "plugin_failed",
            ErrorKind::Internal => "internal",
        }
    }
}

fn rejected_message(artifact_type: &str, plugin: &str, violations: &[Violation]) -> String {
    let mut s = format!(
        "data: not a valid `{artifact_type}` artifact ({} violation{}, checked by plugin `{plugin}`):",
        violations.len(),
        if violations.len() == 1 { "" } else { "s" }
    );
    for v in violations.iter().take(50) {
        let path = if v.path.is_empty() {
            "(root)"
        } else {
            v.path.as_str()
        };
        s.push_str(&format!("\n  {path}: {}", v.message));
    }
    if violations.len() > 50 {
        s.push_str(&format!("\n  ... and {} more", violations.len() - 50));
    }
    s
}

/// One violation of an artifact's rules, as tools report it.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into `data`.
    pub path: String,
    pub message: String,
    pub code: String,
}
