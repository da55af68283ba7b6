//! Acknowledging through a signed link ([`crate::ack_link`]): no API token, only the link a page
//! carried, and only for the incident it was made for.

use vigil_store::AlertRow;

use super::Engine;
use crate::ack_link::{Claim, LinkError};

/// What a link points at now.
#[derive(Debug)]
pub struct LinkedAlert {
    /// What the link says.
    pub claim: Claim,
    /// The alert as stored, if it still exists.
    pub alert: Option<AlertRow>,
}

impl LinkedAlert {
    /// Whether the link's incident still fires (a resolved one, or a later incident of the same
    /// key, is not acknowledged by it).
    pub fn is_live(&self) -> bool {
        self.alert.as_ref().is_some_and(|a| a.condition == "firing" && a.firing_since == Some(self.claim.firing_since))
    }
}

impl Engine {
    /// Reads acknowledgement link `token`: refused when it is not signed by this cluster's key or
    /// has expired (and when vigil has no key).
    pub async fn ack_link(&self, token: &str) -> Result<LinkedAlert, LinkError> {
        let sealer = self.shared.secret_box.as_deref().ok_or(LinkError::Invalid)?;
        let claim = crate::ack_link::verify(sealer, token, self.now())?;
        let alert = self.shared.store.alert(&claim.dedup_key).await.ok().flatten();
        Ok(LinkedAlert { claim, alert })
    }

    /// Acknowledges the incident link `token` names, if it still fires: `Ok(true)` when this
    /// acknowledged it, `Ok(false)` when there was nothing to acknowledge.
    pub async fn acknowledge_by_link(&self, token: &str) -> Result<bool, LinkError> {
        let linked = self.ack_link(token).await?;
        if !linked.is_live() || linked.alert.as_ref().is_some_and(|a| a.acknowledged) {
            return Ok(false);
        }
        Ok(self.acknowledge(&linked.claim.dedup_key).await)
    }
}
