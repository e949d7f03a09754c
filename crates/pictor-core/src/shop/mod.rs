//! The style-transfer shop: a visitor uploads a photo with a signed
//! policy, picks a style, gets a watermarked preview by email, pays in
//! their own currency, and receives the full-resolution artwork. Without
//! HTTP and without jobs: the layers above run the steps.

pub mod geo;
pub mod money;
pub mod stripe;
