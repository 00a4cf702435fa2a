//! What a delete call asked for, kept per deleted message so tests can check that a job's `permanent` and
//! `on_behalf_of` reached the provider as the provider's own fields (DESIGN §2, §3 `mode`).

use serde::{Deserialize, Serialize};

/// How a message was deleted: the options of the call that deleted it. Providers without such options (IMKIT,
/// 2Chat, OFAuth) and IMKIT purges and room deletions record the default: not permanent, nobody on behalf of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedAs {
    /// The call asked for a hard / for-everyone deletion: CometChat `{"permanent": true}` (JSON body), QuickBlox
    /// `force=1` (form body).
    pub permanent: bool,
    /// The user the call acted for: CometChat `onBehalfOf`, QuickBlox `On-Behalf-Of` (headers).
    pub on_behalf_of: Option<String>,
}

impl DeletedAs {
    /// What a call with these options asked for.
    pub fn new(permanent: bool, on_behalf_of: Option<&str>) -> Self {
        DeletedAs { permanent, on_behalf_of: on_behalf_of.filter(|u| !u.is_empty()).map(str::to_string) }
    }
}
