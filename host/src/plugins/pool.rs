//! Warm instances of pure plugins. A plugin that declares itself `pure` promises that a
//! call's answer depends only on its arguments, so an instance may serve the next call
//! (state it built, such as compiled schemas, is reused) instead of being instantiated
//! anew. An instance is retired after `MAX_CALLS` calls, after any failure (the caller
//! drops it), or when its memory grew past `RECYCLE_MEMORY`; fuel and the deadline are set
//! afresh for every call (`sandbox::call`). A plugin not declared pure never comes here.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Limits;
use super::sandbox::Instance;

/// Calls one instance serves before it is replaced, so a slow leak cannot grow for ever.
pub const MAX_CALLS: u32 = 1000;
/// Idle instances kept per plugin: one per core is what concurrent calls can use here.
const MAX_IDLE: usize = 2;
/// An instance whose memory grew past this (or past half its limit) is not kept, so idle
/// memory stays small after a call on a large input.
const RECYCLE_MEMORY: usize = 16 * 1024 * 1024;

#[derive(Default)]
pub struct Pool {
    /// Idle instances by the component's sha256.
    idle: Mutex<HashMap<String, Vec<Instance>>>,
}

impl Pool {
    /// An idle instance of the component, if one is kept.
    pub fn take(&self, sha256: &str) -> Option<Instance> {
        self.lock().get_mut(sha256)?.pop()
    }

    /// Keeps `instance` for the next call, unless it has served its share or grew too big.
    pub fn give(&self, sha256: &str, instance: Instance, limits: &Limits) {
        let bound = RECYCLE_MEMORY.min(limits.memory_mib as usize * 1024 * 1024 / 2);
        if instance.calls >= MAX_CALLS || instance.memory_bytes() > bound {
            return;
        }
        let mut idle = self.lock();
        let list = idle.entry(sha256.to_string()).or_default();
        if list.len() < MAX_IDLE {
            list.push(instance);
        }
    }

    /// How many idle instances of the component are kept (for tests and `plugin info`).
    pub fn idle(&self, sha256: &str) -> usize {
        self.lock().get(sha256).map_or(0, Vec::len)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Instance>>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}
