//! Whom a notice about one alert goes to, beyond the names its request gives: an escalation
//! policy among them stands for its steps' notifiers, told in turn until someone acknowledges
//! ([`vigil_core::alert::escalation`]); and what every page carries: a signed link that
//! acknowledges it ([`crate::ack_link`]).

use std::collections::HashMap;
use std::sync::Arc;

use vigil_connectors::notifiers::NotifierConfig;
use vigil_core::alert::escalation::{Escalation, Policy, Told};
use vigil_core::time::Millis;

use crate::ack_link::AckLinks;

/// What telling needs: the notifiers (to find the policies) and the link signer.
#[derive(Clone, Copy, Default)]
pub(crate) struct Telling<'a> {
    /// The configured notifiers, by name (`None` before they are loaded).
    pub known: Option<&'a HashMap<String, Arc<NotifierConfig>>>,
    /// Signs acknowledgement links (`None` without a public URL or a key).
    pub ack: Option<&'a AckLinks>,
    /// vigil's public URL (`--public-url`; empty without): Alertmanager's `externalURL`.
    pub external_url: &'a str,
}

impl Telling<'_> {
    /// The escalation policy named `name`, if it is one.
    pub fn policy(&self, name: &str) -> Option<Policy> {
        match self.known?.get(name)?.as_ref() {
            NotifierConfig::Escalation(c) => Some(c.policy()),
            _ => None,
        }
    }

    /// Whether `name` is a notifier that sends (not an escalation policy).
    pub fn is_notifier(&self, name: &str) -> bool {
        self.known.and_then(|k| k.get(name)).is_some_and(|n| !matches!(n.as_ref(), NotifierConfig::Escalation(_)))
    }

    /// `names` with each escalation policy replaced by its first step's notifiers (each name
    /// once), and the escalations that start; `skip` names policies already running (their
    /// steps were told).
    pub fn expand(&self, names: &[String], skip: &[Escalation], now: Millis) -> (Vec<String>, Vec<Escalation>) {
        let mut targets: Vec<String> = Vec::new();
        let mut started = Vec::new();
        for name in names {
            match self.policy(name) {
                Some(_) if skip.iter().any(|e| e.policy == *name) => {}
                Some(policy) => {
                    let (e, told) = Escalation::start(name, &policy, now);
                    targets.extend(told.notify.into_iter().filter(|n| self.policy(n).is_none()));
                    started.push(e);
                }
                None => targets.push(name.clone()),
            }
        }
        let mut seen = std::collections::HashSet::new();
        targets.retain(|n| seen.insert(n.clone()));
        (targets, started)
    }

    /// Moves `escalations` on at `now`: the steps that came due, each as what to tell.
    pub fn advance(&self, escalations: &mut [Escalation], now: Millis) -> Vec<Told> {
        let mut out = Vec::new();
        for e in escalations.iter_mut().filter(|e| e.is_due(now)) {
            match self.policy(&e.policy) {
                Some(policy) => out.extend(e.advance(&policy, now)),
                // The policy was removed meanwhile: it has nothing more to say.
                None => e.stop(),
            }
        }
        out
    }
}

/// When the next step of `escalations` is due.
pub(crate) fn next_step(escalations: &[Escalation]) -> Option<Millis> {
    escalations.iter().filter_map(|e| e.next_at).min()
}
