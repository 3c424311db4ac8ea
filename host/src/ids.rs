//! Identifiers: the one place that decides what a valid name looks like.
//!
//! Every ID that reaches the store (artifacts, contracts, sessions, teams, types) passes
//! through [`check_id`], so a path separator, `..` or an empty string never becomes a row
//! (or, later, a file name).

use crate::error::{Error, Result};

/// Longest ID accepted.
pub const MAX_ID_LEN: usize = 128;

/// Checks that `value` is 1–128 characters of `[A-Za-z0-9._-]` and not `.` or `..`.
/// `field` names the argument in the error, so the caller knows what to fix.
pub fn check_id(field: &str, value: &str) -> Result<()> {
    let problem = if value.is_empty() {
        Some("must not be empty".to_string())
    } else if value.len() > MAX_ID_LEN {
        Some(format!(
            "is {} characters long; the limit is {MAX_ID_LEN}",
            value.len()
        ))
    } else if value == "." || value == ".." {
        Some("must not be `.` or `..`".to_string())
    } else {
        value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .map(|c| format!("contains {c:?}; IDs use only letters, digits, `.`, `_` and `-`"))
    };
    match problem {
        Some(p) => Err(Error::invalid(field, format!("`{}` {p}", shorten(value)))),
        None => Ok(()),
    }
}

/// Checks an optional ID.
pub fn check_opt_id(field: &str, value: Option<&str>) -> Result<()> {
    value.map_or(Ok(()), |v| check_id(field, v))
}

/// Keeps error messages readable when someone passes a megabyte as an ID.
fn shorten(value: &str) -> String {
    if value.chars().count() <= 40 {
        value.to_string()
    } else {
        let head: String = value.chars().take(37).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
mod tests {
    use super::check_id;

    #[test]
    fn accepts_plain_ids() {
        for ok in ["a", "build-api", "v1.2_beta", &"x".repeat(128)] {
            assert!(check_id("id", ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_paths_dots_empty_and_long_ids() {
        let cases = [
            ("", "must not be empty"),
            (".", "must not be `.` or `..`"),
            ("..", "must not be `.` or `..`"),
            ("a/b", "contains '/'"),
            ("a\\b", "contains '\\\\'"),
            ("a b", "contains ' '"),
            ("é", "contains 'é'"),
        ];
        for (bad, want) in cases {
            let err = check_id("artifact_id", bad).unwrap_err().to_string();
            assert!(err.contains(want), "{bad:?}: {err}");
            assert!(err.starts_with("artifact_id:"), "{err}");
        }
        let err = check_id("id", &"x".repeat(129)).unwrap_err().to_string();
        assert!(err.contains("129 characters long"), "{err}");
    }
}
