//! Lineage: the graph around a version, what a change reaches, what is stale.

use super::*;
use crate::lineage::{self, Impact, ImpactRequest, StaleItem, StaleRequest, Trace, TraceRequest};

impl Hub {
    pub fn lineage_trace(&self, req: &TraceRequest) -> Result<Trace> {
        self.query(|tx| lineage::trace(tx, req))
    }

    pub fn impact_analysis(&self, req: &ImpactRequest) -> Result<Impact> {
        self.query(|tx| lineage::impact(tx, req))
    }

    /// Reads the staleness the reaction keeps; nothing is recomputed here.
    pub fn stale_check(&self, req: &StaleRequest) -> Result<Page<StaleItem>> {
        self.query(|tx| lineage::stale_check(tx, req))
    }
}
