//! The OpenAPI 3 document, generated from the handlers' annotations and the model's schemas so
//! it cannot drift from the code.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(title = "shiplog", description = "Deploy history: record deploys, query the history, watch it live."),
    paths(
        api::deploys::create,
        api::deploys::update,
        api::deploys::one,
        api::deploys::history,
        api::deliveries::deliveries,
        api::manifests::keep,
        api::manifests::manifests,
        api::manifests::diff,
        api::environments::environments,
        api::insights::insights,
        api::locks::list,
        api::locks::check,
        api::locks::lock_environment,
        api::locks::lock_app,
        api::locks::unlock_environment,
        api::locks::unlock_app,
        api::stream::stream,
        api::meta::healthz,
        api::meta::metrics,
        api::meta::openapi,
    ),
    components(schemas(shiplog_model::DeployEventKind)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // The console's lock requests: its sign-in cookie (when a read token is set) and this
        // header, which a cross-site form cannot send.
        components.add_security_scheme(
            "console",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::new("X-Shiplog-Console"),
            )),
        );
    }
}
