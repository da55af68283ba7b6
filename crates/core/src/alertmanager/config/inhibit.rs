//! Alertmanager's inhibition (`inhibit/inhibit.go`): an alert matching a rule's target matchers
//! is muted while a firing alert matching its source matchers has the same values for the
//! `equal` labels (a label missing on both counts as equal). An alert matching both sides is not
//! muted by another that also matches both, so a rule cannot mute the alerts it is made of.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::read::Fields;
use super::route::read_matchers;
use crate::alertmanager::{Matcher, all_match};
use crate::diagnostic::Problem;

/// One rule.
#[derive(Debug, Clone, Default)]
pub struct InhibitRule {
    /// What an inhibiting alert matches.
    pub source: Vec<Matcher>,
    /// What an inhibited alert matches.
    pub target: Vec<Matcher>,
    /// Labels both must have the same values of.
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// Whether a firing alert with `source` labels mutes one with `target` labels.
    pub fn mutes(&self, source: &BTreeMap<String, String>, target: &BTreeMap<String, String>) -> bool {
        all_match(&self.target, target)
            && all_match(&self.source, source)
            && self.equal.iter().all(|n| source.get(n).map_or("", |v| v) == target.get(n).map_or("", |v| v))
            && !(all_match(&self.source, target) && all_match(&self.target, source))
    }
}

/// The first firing alert (of `firing`, by its labels) that mutes `target` under `rules`.
pub fn inhibited_by<'a, K>(
    rules: &[InhibitRule],
    firing: impl IntoIterator<Item = (&'a K, &'a BTreeMap<String, String>)> + Clone,
    target: &BTreeMap<String, String>,
) -> Option<&'a K>
where
    K: 'a,
{
    rules
        .iter()
        .filter(|r| all_match(&r.target, target))
        .find_map(|r| firing.clone().into_iter().find(|(_, source)| r.mutes(source, target)).map(|(k, _)| k))
}

/// The firing alerts that may mute others, indexed per rule by the values of its `equal` labels,
/// so that looking up one target costs a hash per rule, not a scan of every firing alert (which
/// made listing 100,000 alerts under one rule quadratic).
pub struct InhibitIndex<'a, K> {
    rules: &'a [InhibitRule],
    /// Per rule, the firing alerts matching its source matchers, by their `equal` values, in the
    /// order given.
    sources: Vec<BySources<'a, K>>,
}

/// One rule's inhibiting alerts (key and labels), by the values of its `equal` labels.
type BySources<'a, K> = HashMap<Vec<&'a str>, Vec<(&'a K, &'a BTreeMap<String, String>)>>;

impl<'a, K> InhibitIndex<'a, K> {
    /// Indexes `firing` (each alert's key and labels) under `rules`.
    pub fn new(
        rules: &'a [InhibitRule],
        firing: impl IntoIterator<Item = (&'a K, &'a BTreeMap<String, String>)>,
    ) -> Self {
        let mut sources: Vec<BySources<'a, K>> = rules.iter().map(|_| HashMap::new()).collect();
        for (key, labels) in firing {
            for (rule, by_equal) in rules.iter().zip(sources.iter_mut()) {
                if all_match(&rule.source, labels) {
                    by_equal.entry(equal_values(rule, labels)).or_default().push((key, labels));
                }
            }
        }
        Self { rules, sources }
    }

    /// The first firing alert that mutes `target`: what [`inhibited_by`] finds, by lookup.
    pub fn inhibited_by(&self, target: &BTreeMap<String, String>) -> Option<&'a K> {
        self.rules.iter().zip(&self.sources).filter(|(r, _)| all_match(&r.target, target)).find_map(
            |(rule, by_equal)| {
                let candidates = by_equal.get(&equal_values(rule, target))?;
                candidates.iter().find(|(_, source)| rule.mutes(source, target)).map(|(k, _)| *k)
            },
        )
    }
}

/// The values of `rule`'s `equal` labels in `labels` (a missing one is empty, as Alertmanager
/// reads it).
fn equal_values<'a>(rule: &InhibitRule, labels: &'a BTreeMap<String, String>) -> Vec<&'a str> {
    rule.equal.iter().map(|n| labels.get(n).map_or("", String::as_str)).collect()
}

pub(super) fn read(items: Vec<(String, &Value)>, problems: &mut Vec<Problem>) -> Vec<InhibitRule> {
    items
        .into_iter()
        .map(|(path, v)| {
            let mut f = Fields::of(v, &path, problems);
            let source = read_matchers(&mut f, "source_match", "source_match_re", "source_matchers", problems);
            let target = read_matchers(&mut f, "target_match", "target_match_re", "target_matchers", problems);
            let equal = f.strings("equal", problems).into_iter().map(|(_, s)| s).collect();
            f.finish(problems);
            InhibitRule { source, target, equal }
        })
        .collect()
}
