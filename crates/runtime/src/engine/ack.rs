//! Acknowledging through a signed link ([`crate::ack_link`]): no API token, only the link a page
//! carried, and only for the incident it was made for: an alert's, or a notification group's.

use vigil_core::alertmanager::group::Group;

use super::Engine;
use crate::ack_link::{Claim, LinkError};

/// What a link points at now.
#[derive(Debug)]
pub struct LinkedAlert {
    /// What the link says.
    pub claim: Claim,
    /// The alert's (or group's) name.
    pub name: String,
    /// Whether the link's incident still fires (a resolved one, or a later incident of the same
    /// key, is not acknowledged by it).
    pub live: bool,
    /// Whether someone acknowledged it already.
    pub acknowledged: bool,
}

impl Engine {
    /// Reads acknowledgement link `token`: refused when it is not signed by this cluster's key or
    /// has expired (and when vigil has no key).
    pub async fn ack_link(&self, token: &str) -> Result<LinkedAlert, LinkError> {
        let sealer = self.shared.secrets.sealer.as_deref().ok_or(LinkError::Invalid)?;
        let claim = crate::ack_link::verify(sealer, token, self.now())?;
        let store = &self.shared.store;
        let mut linked = LinkedAlert { name: claim.dedup_key.clone(), claim, live: false, acknowledged: false };
        if let Ok(Some(a)) = store.alert(&linked.claim.dedup_key).await {
            linked.live = a.condition == "firing" && a.firing_since == Some(linked.claim.firing_since);
            linked.acknowledged = a.acknowledged;
            linked.name = a.name;
        } else if let Ok(Some(row)) = store.alert_group(&linked.claim.dedup_key).await
            && let Ok(group) = serde_json::from_str::<Group>(&row.state)
        {
            linked.live = group.state.told_firing() && group.state.anchor == Some(linked.claim.firing_since);
            linked.acknowledged = group.state.acknowledged;
            linked.name = group.labels.get("alertname").cloned().unwrap_or(group.key);
        }
        Ok(linked)
    }

    /// Acknowledges the incident link `token` names, if it still fires: `Ok(true)` when this
    /// acknowledged it, `Ok(false)` when there was nothing to acknowledge.
    pub async fn acknowledge_by_link(&self, token: &str) -> Result<bool, LinkError> {
        let linked = self.ack_link(token).await?;
        if !linked.live || linked.acknowledged {
            return Ok(false);
        }
        Ok(self.acknowledge(&linked.claim.dedup_key).await)
    }
}
