//! Resource limits: per-kind defaults, host maxima, and what a manifest may ask for.

use serde::{Deserialize, Serialize};

use super::Kind;

/// What one call may use. Every call runs with all of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// WebAssembly fuel (roughly, instructions) per call.
    pub fuel: u64,
    /// Wall-clock time per call, in milliseconds.
    pub timeout_ms: u64,
    /// Linear memory, in MiB.
    pub memory_mib: u64,
    /// Bytes of results (violations, rendered text, commands) per call.
    pub output_kib: u64,
}

/// A manifest's `[limits]`: each field optional, clamped to the host maxima.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requested {
    pub fuel: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub memory_mib: Option<u64>,
    pub output_kib: Option<u64>,
}

impl Limits {
    /// Defaults per kind. A trivial call costs about 1–2 thousand fuel; 100 million is
    /// ample for a JSON Schema validation and still stops a runaway loop within a second.
    pub fn default_for(kind: Kind) -> Limits {
        match kind {
            Kind::ArtifactValidator => Limits {
                fuel: 200_000_000,
                timeout_ms: 2_000,
                memory_mib: 64,
                output_kib: 1024,
            },
            Kind::PipelineCondition => Limits {
                fuel: 20_000_000,
                timeout_ms: 500,
                memory_mib: 32,
                output_kib: 64,
            },
            Kind::PipelineAction => Limits {
                fuel: 1_000_000_000,
                timeout_ms: 10_000,
                memory_mib: 128,
                output_kib: 1024,
            },
            Kind::PromptTemplate => Limits {
                fuel: 50_000_000,
                timeout_ms: 1_000,
                memory_mib: 32,
                output_kib: 1024,
            },
        }
    }

    /// The limits of one call that does the work of `n` calls (a batch of `n` conditions):
    /// `n` times the fuel, time and output those calls would have had, the same memory.
    pub fn times(self, n: usize) -> Limits {
        let n = n.max(1) as u64;
        Limits {
            fuel: self.fuel.saturating_mul(n),
            timeout_ms: self.timeout_ms.saturating_mul(n),
            memory_mib: self.memory_mib,
            output_kib: self.output_kib.saturating_mul(n),
        }
    }

    /// The most a manifest may ask for, per kind: ten times the default.
    pub fn max_for(kind: Kind) -> Limits {
        let d = Limits::default_for(kind);
        Limits {
            fuel: d.fuel * 10,
            timeout_ms: d.timeout_ms * 10,
            memory_mib: d.memory_mib * 8,
            output_kib: d.output_kib * 16,
        }
    }

    /// The limits for a plugin of `kinds`: the largest default among its kinds, replaced by
    /// what the manifest asks for. Asking beyond the host maxima is an error naming the limit.
    pub fn resolve(kinds: &[Kind], requested: &Requested) -> Result<Limits, String> {
        let pick = |f: fn(&Limits) -> u64, of: fn(Kind) -> Limits| {
            kinds.iter().map(|k| f(&of(*k))).max().unwrap_or(0)
        };
        let default = Limits {
            fuel: pick(|l| l.fuel, Limits::default_for),
            timeout_ms: pick(|l| l.timeout_ms, Limits::default_for),
            memory_mib: pick(|l| l.memory_mib, Limits::default_for),
            output_kib: pick(|l| l.output_kib, Limits::default_for),
        };
        let max = Limits {
            fuel: pick(|l| l.fuel, Limits::max_for),
            timeout_ms: pick(|l| l.timeout_ms, Limits::max_for),
            memory_mib: pick(|l| l.memory_mib, Limits::max_for),
            output_kib: pick(|l| l.output_kib, Limits::max_for),
        };
        let one = |name: &str, asked: Option<u64>, default: u64, max: u64| match asked {
            None => Ok(default),
            Some(0) => Err(format!("limits.{name} must be above 0")),
            Some(v) if v > max => Err(format!(
                "limits.{name} = {v} is above the host maximum {max}"
            )),
            Some(v) => Ok(v),
        };
        Ok(Limits {
            fuel: one("fuel", requested.fuel, default.fuel, max.fuel)?,
            timeout_ms: one(
                "timeout_ms",
                requested.timeout_ms,
                default.timeout_ms,
                max.timeout_ms,
            )?,
            memory_mib: one(
                "memory_mib",
                requested.memory_mib,
                default.memory_mib,
                max.memory_mib,
            )?,
            output_kib: one(
                "output_kib",
                requested.output_kib,
                default.output_kib,
                max.output_kib,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_lower_or_raise_within_maxima() {
        let kinds = [Kind::ArtifactValidator];
        let lowered = Limits::resolve(
            &kinds,
            &Requested {
                fuel: Some(1_000),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(lowered.fuel, 1_000);
        assert_eq!(lowered.timeout_ms, 2_000);
        let err = Limits::resolve(
            &kinds,
            &Requested {
                memory_mib: Some(100_000),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            err,
            "limits.memory_mib = 100000 is above the host maximum 512"
        );
    }
}
