//! Cancelling a campaign: its jobs not yet called end `cancelled` when next leased.

use crate::{CampaignState, Ops, QueueError};

impl Ops {
    /// Cancels campaign `id`; the campaign as it stands, `None` if there is no such campaign. Cancelling twice
    /// keeps the first time.
    pub async fn cancel_campaign(&self, id: &str) -> Result<Option<CampaignState>, QueueError> {
        self.queue().cancel_campaign(id, deleteq_core::now_ms()).await
    }
}
