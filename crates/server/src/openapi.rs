//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the handlers' annotations and the report
//! types, so the spec cannot describe something the server does not do. Every `/v1/*` operation requires the
//! `bearer` scheme; the probes require nothing.

use crate::error::{ErrorBody, ErrorDetail};
use crate::routes::{CampaignBody, CampaignJobs, EnqueuedIds, JobInput, JobsBody, ReplayRequest};
use deleteq_ops::report::{
    AccountStatus, AuditReport, CampaignPhase, CampaignReport, CampaignShare, CampaignSubmitted, DeadLetterReport,
    LaneDepths, ParkedReport, ProviderBudgetReport, ScheduleReport, ShardStatus, StatusReport,
};
use deleteq_ops::{CancelReport, CancelledJob, JobCancelState, ReplayReport, ReplayedAll, ReplayedIds, Resumed};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The name of the security scheme in the document.
const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "deleteq",
        description = "An asynchronous deletion job queue for chat platforms: enqueue deletion jobs, submit and \
            follow campaigns, inspect the queue, its dead letters and its latest audit records. `/v1/*` needs \
            `Authorization: Bearer <token>` with one of the server's `[api] tokens`. Every error is answered as \
            `{\"error\": {\"message\": ...}}`, with `index` and `field` when a job is at fault. The dashboard is \
            served at `/`."
    ),
    paths(
        crate::routes::jobs::enqueue,
        crate::routes::cancel::cancel_job,
        crate::routes::campaigns::submit,
        crate::routes::campaigns::list,
        crate::routes::campaigns::show,
        crate::routes::campaigns::cancel,
        crate::routes::operations::status,
        crate::routes::operations::dead_letters,
        crate::routes::operations::replay,
        crate::routes::operations::resume_account,
        crate::routes::audit::recent,
        crate::routes::health::healthz,
        crate::routes::health::readyz,
    ),
    components(schemas(
        JobInput, JobsBody, EnqueuedIds, CampaignBody, CampaignJobs, CampaignSubmitted, CampaignReport, CampaignShare, CampaignPhase,
        StatusReport, AccountStatus, LaneDepths, ParkedReport, ProviderBudgetReport, ScheduleReport, ShardStatus, DeadLetterReport,
        ReplayRequest, ReplayReport, ReplayedIds, ReplayedAll, Resumed, CancelReport, CancelledJob, JobCancelState, AuditReport, ErrorBody, ErrorDetail, crate::routes::health::Health,
    )),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
)]
struct ApiDoc;

/// Adds the bearer scheme the global security requirement names.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("One of the server's `[api] tokens`."))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// The document as JSON text.
pub fn document() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.to_json().unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    #[test]
    fn every_v1_operation_needs_the_token_and_documents_its_errors() {
        let doc: Value = serde_json::from_str(&super::document()).expect("the document is JSON");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", doc["openapi"]);
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));
        let paths = doc["paths"].as_object().expect("paths");
        let mut operations = 0;
        for (path, item) in paths {
            for (method, operation) in item.as_object().expect("path item") {
                let responses = &operation["responses"];
                if path.starts_with("/v1/") {
                    operations += 1;
                    assert!(operation.get("security").is_none(), "{method} {path} overrides the bearer requirement");
                    for status in ["401", "503"] {
                        let schema = &responses[status]["content"]["application/json"]["schema"]["$ref"];
                        assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {status}");
                    }
                } else {
                    assert_eq!(operation["security"], serde_json::json!([{}]), "{method} {path} is open");
                }
            }
        }
        assert_eq!(operations, 11, "{:?}", paths.keys().collect::<Vec<_>>());
    }

    #[test]
    fn a_job_and_a_campaign_submission_name_their_priority() {
        let doc: Value = serde_json::from_str(&super::document()).expect("the document is JSON");
        let job = &doc["components"]["schemas"]["JobInput"];
        let lanes = serde_json::json!(["high", "normal", "low"]);
        let priority = &job["properties"]["priority"];
        assert_eq!(
            (&priority["type"], &priority["enum"], &priority["default"]),
            (&"string".into(), &lanes, &"normal".into())
        );
        let required = job["required"].as_array().expect("required");
        assert!(!required.contains(&"priority".into()), "{required:?}");
        let params = doc["paths"]["/v1/campaigns"]["post"]["parameters"].as_array().expect("parameters");
        let query = params.iter().find(|p| p["name"] == "priority").expect("a priority parameter");
        assert_eq!((&query["in"], &query["required"]), (&"query".into(), &false.into()));
        assert_eq!((&query["schema"]["enum"], &query["schema"]["default"]), (&lanes, &"low".into()));
    }

    #[test]
    fn a_dead_letters_job_and_the_audit_numbers_are_typed() {
        let doc: Value = serde_json::from_str(&super::document()).expect("the document is JSON");
        let schemas = &doc["components"]["schemas"];
        let job = serde_json::to_string(&schemas["DeadLetterReport"]["properties"]["job"]).expect("text");
        assert!(job.contains("#/components/schemas/JobInput"), "{job}");
        let audit = &schemas["AuditReport"]["properties"];
        for name in ["http_status", "attempt", "deleted_count", "delay_ms"] {
            let kind = serde_json::to_string(&audit[name]).expect("text");
            assert!(kind.contains("integer") && kind.contains("null"), "{name}: {kind}");
        }
        assert_eq!(audit["outcome"]["type"], "string");
    }

    #[test]
    fn a_replay_answers_either_report_of_dlq_replay_json() {
        let doc: Value = serde_json::from_str(&super::document()).expect("the document is JSON");
        let ok = &doc["paths"]["/v1/dlq/replay"]["post"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(ok["$ref"], "#/components/schemas/ReplayReport");
        let schemas = &doc["components"]["schemas"];
        let variants = schemas["ReplayReport"]["oneOf"].as_array().expect("oneOf");
        let refs: Vec<&str> = variants.iter().filter_map(|v| v["$ref"].as_str()).collect();
        assert_eq!(refs, ["#/components/schemas/ReplayedIds", "#/components/schemas/ReplayedAll"]);
        let required = |name: &str| schemas[name]["required"].clone();
        assert_eq!(required("ReplayedIds"), serde_json::json!(["replayed", "requested", "not_dead"]));
        assert_eq!(required("ReplayedAll"), serde_json::json!(["replayed", "all"]));
        assert_eq!(schemas["ReplayedAll"]["properties"]["all"]["enum"], serde_json::json!([true]));
    }
}
