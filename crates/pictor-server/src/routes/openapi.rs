//! The OpenAPI 3 document, generated from the handlers' annotations.

use utoipa::OpenApi;

use axum::Json;

use super::direct::{DirectFile, DirectRequest, DirectTicket, DirectTickets};
use super::executions::{ExecutionList, ExecutionView, HistoryView};
use super::images::ImageView;
use super::upload::{PinsterImage, UploadPinster, UploadSeed};

#[derive(OpenApi)]
#[openapi(
    info(title = "Pictor", description = "Self-hosted image service: upload, transform on the fly, serve."),
    paths(
        super::upload::upload,
        super::resumable::options,
        super::resumable::create,
        super::resumable::head,
        super::resumable::patch,
        super::resumable::delete,
        super::resumable::overridden,
        super::direct::complete,
        super::direct::put_object,
        super::direct::post_object,
        super::bundles::create,
        super::bundles::list,
        super::bundles::get,
        super::bundles::zip,
        super::images::get,
        super::images::original,
        super::images::restore,
        super::images::delete,
        super::images::list,
        super::albums::list,
        super::albums::create,
        super::albums::get,
        super::albums::update,
        super::albums::delete,
        super::albums::add_images,
        super::albums::remove_image,
        super::imports::create,
        super::imports::list,
        super::imports::get,
        super::imports::cancel,
        super::shares::list,
        super::shares::create,
        super::shares::revoke,
        super::shares::access,
        super::shares::image,
        super::shares::original,
        super::webhooks::create,
        super::webhooks::list,
        super::webhooks::get,
        super::webhooks::delete,
        super::webhooks::deliveries,
        super::executions::get,
        super::executions::list,
        super::executions::for_image,
        super::executions::reprocess,
        super::events::stream,
        super::vision::index,
        super::vision::of_image,
        super::vision::flagged,
        super::vision::approve,
        super::vision::reject,
        super::pam::upload,
        super::pam::labels,
        super::pam::download,
        super::shop::create_upload,
        super::shop::receive_upload,
        super::shop::get_order,
        super::shop::checkout,
        super::shop::picture,
        super::shop::sample,
        super::shop::stripe_webhook,
        super::ops::healthz,
        super::ops::readyz,
        super::ops::metrics,
        serve,
    ),
    components(schemas(ImageView, DirectRequest, DirectFile, DirectTickets, DirectTicket, UploadSeed, UploadPinster, PinsterImage, ExecutionView, HistoryView, ExecutionList)),
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

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3")))]
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
