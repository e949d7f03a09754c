//! Any body as `multipart/form-data`, read the way every Pictor form is:
//! fields walked one by one, text fields and files through
//! `pictor_multipart`'s bounded reads. The first byte sets the size of the
//! chunks the body arrives in, so boundaries fall across chunk edges.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{FromRequest as _, Multipart};
use axum::http::Request;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use pictor_multipart::FieldError;

const FILE_BYTES: u64 = 4096;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap())
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, body)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        body.chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let request = Request::builder()
        .method("POST")
        .header("content-type", "multipart/form-data; boundary=pictor-fuzz")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    runtime().block_on(walk(request));
});

async fn walk(request: Request<Body>) {
    let mut form = Multipart::from_request(request, &()).await.expect("the content type is multipart");
    while let Ok(Some(mut field)) = form.next_field().await {
        let _ = (field.name(), field.file_name(), field.content_type());
        // Each read stays within its cap (a text's invalid bytes become
        // three-byte replacement characters).
        let read = if field.name() == Some("file") {
            pictor_multipart::bytes(&mut field, FILE_BYTES).await.map(|b| assert!(b.len() as u64 <= FILE_BYTES))
        } else {
            pictor_multipart::text(&mut field).await.map(|t| assert!(t.len() as u64 <= 3 * pictor_multipart::TEXT_BYTES))
        };
        match read {
            Ok(()) => {}
            Err(FieldError::TooLarge { seen, max }) => assert!(seen > max),
            Err(FieldError::Malformed(_)) => return,
        }
    }
}
