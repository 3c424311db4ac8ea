//! Delegation presets: what a delegated worker may do without asking.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::PermissionMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Read and search files; nothing else.
    ReadOnly,
    /// Read, search, and run read-only git commands.
    Review,
    /// Read, search and edit files (edits accepted without asking); no shell.
    Edit,
    /// Everything, without asking (bypassPermissions; as root only with IS_SANDBOX=1).
    Full,
    /// Claude Code's plan mode: investigate and propose, change nothing.
    Plan,
}

const READ: &[&str] = &["Read", "Glob", "Grep", "LS"];

impl Preset {
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::ReadOnly => "read-only",
            Preset::Review => "review",
            Preset::Edit => "edit",
            Preset::Full => "full",
            Preset::Plan => "plan",
        }
    }

    pub fn permission_mode(self) -> PermissionMode {
        match self {
            Preset::ReadOnly | Preset::Review => PermissionMode::Default,
            Preset::Edit => PermissionMode::AcceptEdits,
            Preset::Full => PermissionMode::BypassPermissions,
            Preset::Plan => PermissionMode::Plan,
        }
    }

    pub fn allowed_tools(self) -> Vec<String> {
        let extra: &[&str] = match self {
            Preset::ReadOnly | Preset::Plan | Preset::Full => &[],
            Preset::Review => &[
                "Bash(git diff:*)",
                "Bash(git log:*)",
                "Bash(git show:*)",
                "Bash(git status:*)",
            ],
            Preset::Edit => &["Edit", "MultiEdit", "Write", "NotebookEdit"],
        };
        READ.iter().chain(extra).map(|s| s.to_string()).collect()
    }
}
