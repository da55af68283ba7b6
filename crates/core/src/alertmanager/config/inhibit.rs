//! Alertmanager's inhibition (`inhibit/inhibit.go`): an alert matching a rule's target matchers
//! is muted while a firing alert matching its source matchers has the same values for the
//! `equal` labels (a label missing on both counts as equal). An alert matching both sides is not
//! muted by another that also matches both, so a rule cannot mute the alerts it is made of.

use std::collections::BTreeMap;

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
