//! Paging for every list: at most `limit` items (default 100, at most 1,000) from where
//! `cursor` left off, so a reply stays small whatever the data dir holds. The cursor is
//! opaque to callers; here, beside the SQL it windows, it is an offset into the list's order.

use serde::Serialize;
use serde_json::{Value, json};

use super::Window;
use crate::error::{Error, Result};

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

/// One page of a list and where the next begins (`None` on the last page).
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Checks `limit` and `cursor` as a caller gave them.
pub fn window(limit: Option<u32>, cursor: Option<&str>) -> Result<Window> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::invalid(
            "limit",
            format!("{limit} is out of range 1..={MAX_LIMIT}"),
        ));
    }
    let offset = match cursor {
        None => 0,
        Some(c) => c
            .strip_prefix("o")
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|n| *n <= i64::MAX as u64)
            .ok_or_else(|| {
                Error::invalid(
                    "cursor",
                    format!("`{c}` is not a cursor; pass the `next_cursor` of the previous page"),
                )
            })?,
    };
    Ok(Window { offset, limit })
}

/// Cuts what the store returned (up to `limit + 1` rows) into a page.
pub fn page<T>(w: Window, mut rows: Vec<T>) -> Page<T> {
    let more = rows.len() > w.limit as usize;
    rows.truncate(w.limit as usize);
    Page {
        next_cursor: more.then(|| format!("o{}", w.offset + w.limit as u64)),
        items: rows,
    }
}

impl<T: Serialize> Page<T> {
    /// The reply every surface gives: `{count, <key>: items, next_cursor}`.
    pub fn envelope(&self, key: &str) -> Value {
        let mut v = json!({ "count": self.items.len(), "next_cursor": self.next_cursor });
        v[key] = serde_json::to_value(&self.items).expect("list items serialize");
        v
    }
}

impl<T> Page<T> {
    pub fn try_map<U>(self, f: impl FnMut(T) -> Result<U>) -> Result<Page<U>> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_>>()?,
            next_cursor: self.next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_pages() {
        let w = window(None, None).unwrap();
        assert_eq!((w.offset, w.limit), (0, DEFAULT_LIMIT));
        let w = window(Some(2), Some("o4")).unwrap();
        let p = page(w, vec![1, 2, 3]);
        assert_eq!(
            (p.items, p.next_cursor.as_deref()),
            (vec![1, 2], Some("o6"))
        );
        assert!(page(w, vec![1, 2]).next_cursor.is_none());
        assert!(window(Some(0), None).is_err());
        assert!(window(Some(1001), None).is_err());
        assert!(
            window(None, Some("6"))
                .unwrap_err()
                .to_string()
                .contains("cursor")
        );
        assert!(window(None, Some("o-1")).is_err());
    }
}
