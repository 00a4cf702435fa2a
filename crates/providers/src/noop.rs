//! The `noop` provider: every message is `deleted` and a purge deletes nothing, without any network call. For
//! benchmarks and smoke tests.

use crate::request::{DeleteRequest, Disposition, MessageResult, Response};
use deleteq_core::DeletionMode;

/// Nothing is deleted anywhere, so nothing can be said of how.
const MODE: DeletionMode = DeletionMode::Unknown;

/// Answers at once.
pub fn delete(req: &DeleteRequest<'_>) -> Response {
    if req.purge {
        return Response::new(None, Disposition::Purged { deleted_count: 0, mode: MODE });
    }
    Response::all(req, None, MessageResult::Deleted(MODE))
}
