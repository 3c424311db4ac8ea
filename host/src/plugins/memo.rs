//! Answers of pure plugins, remembered: the same plugin (by sha256, with the same limits)
//! asked the same question (function and arguments, by sha256) gives the same answer, so
//! a second validation of unchanged content costs a hash and a lookup. Bounded by the
//! total size of the answers kept (quick_cache evicts the least useful), per process.

use std::any::Any;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{Limits, Resolved};

/// Total bytes of answers kept.
const CAPACITY_BYTES: u64 = 8 * 1024 * 1024;
/// Answers larger than this are not kept: one would push out many small ones.
const MAX_ENTRY_BYTES: usize = 64 * 1024;
/// quick_cache sizes its tables from an estimate of the entry count.
const ESTIMATED_ENTRIES: usize = 4096;

type Answer = (Arc<dyn Any + Send + Sync>, u64);

#[derive(Clone)]
struct BySize;

impl quick_cache::Weighter<[u8; 32], Answer> for BySize {
    fn weight(&self, _key: &[u8; 32], value: &Answer) -> u64 {
        value.1.max(1)
    }
}

pub struct Memo {
    cache: quick_cache::sync::Cache<[u8; 32], Answer, BySize>,
}

impl Default for Memo {
    fn default() -> Memo {
        Memo {
            cache: quick_cache::sync::Cache::with_weighter(
                ESTIMATED_ENTRIES,
                CAPACITY_BYTES,
                BySize,
            ),
        }
    }
}

/// The key of one question: the plugin's bytes and limits (an answer found under tighter
/// limits than before might not be found now), the function, and each argument
/// length-prefixed, so no two different argument lists hash alike.
pub fn key(plugin: &Resolved, function: &str, args: &[&str]) -> [u8; 32] {
    let Limits {
        fuel,
        timeout_ms,
        memory_mib,
        output_kib,
    } = plugin.limits;
    let mut h = Sha256::new();
    h.update(plugin.sha256.as_bytes());
    for n in [fuel, timeout_ms, memory_mib, output_kib] {
        h.update(n.to_le_bytes());
    }
    for part in std::iter::once(function).chain(args.iter().copied()) {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

impl Memo {
    pub fn get<T: Clone + 'static>(&self, key: &[u8; 32]) -> Option<T> {
        let (answer, _) = self.cache.get(key)?;
        answer.downcast_ref::<T>().cloned()
    }

    /// Remembers `answer`, whose size in bytes is about `bytes`.
    pub fn put<T: Send + Sync + 'static>(&self, key: [u8; 32], answer: T, bytes: usize) {
        if bytes <= MAX_ENTRY_BYTES {
            self.cache.insert(key, (Arc::new(answer), bytes as u64));
        }
    }
}
