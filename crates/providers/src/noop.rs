//! The `noop` provider: every message is `deleted` and a purge deletes nothing, without any network call. For
//! benchmarks and smoke tests.

use crate::request::{DeleteRequest, Disposition, MessageResult, Response};

/// Answers at once.
pub fn delete(req: &DeleteRequest<'_>) -> Response {
    if req.purge {
        return Response::new(None, Disposition::Purged { deleted_count: 0 });
    }
    Response::all(req, None, MessageResult::Deleted)
}
