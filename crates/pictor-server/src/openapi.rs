//! The OpenAPI 3 document, generated from the handlers' annotations.

use utoipa::OpenApi;

use crate::routes::executions::{ExecutionList, ExecutionView, HistoryView};
use crate::routes::{ImageView, PinsterImage, UploadPinster, UploadSeed};

#[derive(OpenApi)]
#[openapi(
    info(title = "Pictor", description = "Self-hosted image service: upload, transform on the fly, serve."),
    paths(
        crate::routes::upload::upload,
        crate::routes::images::get,
        crate::routes::images::original,
        crate::routes::images::delete,
        crate::routes::images::list,
        crate::routes::webhooks::create,
        crate::routes::webhooks::list,
        crate::routes::webhooks::get,
        crate::routes::webhooks::delete,
        crate::routes::webhooks::deliveries,
        crate::routes::executions::get,
        crate::routes::executions::list,
        crate::routes::executions::for_image,
        crate::routes::executions::reprocess,
        crate::routes::events::stream,
        crate::routes::vision::index,
        crate::routes::vision::of_image,
        crate::routes::vision::flagged,
        crate::routes::vision::approve,
        crate::routes::vision::reject,
        crate::routes::ops::healthz,
        crate::routes::ops::readyz,
        crate::routes::ops::metrics,
        crate::routes::ops::openapi,
    ),
    components(schemas(ImageView, UploadSeed, UploadPinster, PinsterImage, ExecutionView, HistoryView, ExecutionList)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder().scheme(HttpAuthScheme::Bearer).description(Some("An API key (pk_…) or a JWT")).build(),
            ),
        );
    }
}

/// The document served at `/api/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
