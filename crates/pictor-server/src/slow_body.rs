//! The body read rate floor: a client that sends its request body too
//! slowly is answered `408` and its connection closed, so trickled bodies
//! (slowloris on the body) cannot hold connections and upload slots for
//! the whole request timeout.
//!
//! The rule is Apache `mod_reqtimeout`'s: a client may keep the server
//! waiting `limits.body_read_timeout_secs` in all, and every
//! `limits.body_min_bytes_per_sec` bytes it sends earn one second more.
//! Only time spent waiting on the client counts: a handler that is slow to
//! read (waiting for an upload slot, writing to the store) costs the client
//! nothing.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Response};
use bytes::Bytes;
use hyper::body::{Body as _, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::error::{ApiError, Code};

/// The floor's two settings.
#[derive(Clone, Copy, Debug)]
pub struct RateFloor {
    /// Waiting allowed before the first byte.
    pub allowance: Duration,
    /// Bytes that earn one more second; 0 = no floor.
    pub bytes_per_sec: u64,
}

impl RateFloor {
    /// The waiting allowed once `received` bytes have arrived.
    fn allowed(&self, received: u64) -> Duration {
        self.allowance + Duration::from_secs_f64(received as f64 / self.bytes_per_sec as f64)
    }

    /// Wraps `body` under the floor; the flag says whether it was cut.
    /// A request without a body is left as it is.
    pub fn guard(self, body: Body) -> (Body, Option<Arc<AtomicBool>>) {
        if self.bytes_per_sec == 0 || body.is_end_stream() {
            return (body, None);
        }
        let cut = Arc::new(AtomicBool::new(false));
        let guarded = Guarded {
            inner: body,
            floor: self,
            received: 0,
            waited: Duration::ZERO,
            waiting_since: None,
            deadline: None,
            cut: cut.clone(),
        };
        (Body::new(guarded), Some(cut))
    }
}

/// The answer to a request whose body was cut: `408`, and the connection
/// closed (the rest of the body may still be on its way).
pub fn too_slow(floor: RateFloor, wants_page: bool) -> Response {
    let detail = format!(
        "the request body came in slower than {} bytes a second (limits.body_min_bytes_per_sec); send it again over a faster connection, or use a resumable upload",
        floor.bytes_per_sec
    );
    let mut response = if wants_page {
        pictor_web::error_page(axum::http::StatusCode::REQUEST_TIMEOUT, &detail)
    } else {
        ApiError::new(Code::RequestTimeout, detail).into_response()
    };
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A body that fails once its client has kept the server waiting past the
/// floor.
struct Guarded {
    inner: Body,
    floor: RateFloor,
    received: u64,
    /// Time spent waiting on the client, not counting the current wait.
    waited: Duration,
    /// When the current wait began.
    waiting_since: Option<Instant>,
    /// When the current wait runs out; one timer, reset for each wait.
    deadline: Option<Pin<Box<Sleep>>>,
    cut: Arc<AtomicBool>,
}

impl Guarded {
    fn end_wait(&mut self) {
        if let Some(since) = self.waiting_since.take() {
            self.waited += since.elapsed();
        }
    }

    /// Starts a wait, unless one is under way; its timer.
    fn wait(&mut self) -> Pin<&mut Sleep> {
        if self.waiting_since.is_none() {
            let now = Instant::now();
            let end = now + self.floor.allowed(self.received).saturating_sub(self.waited);
            self.waiting_since = Some(now);
            match &mut self.deadline {
                Some(deadline) => deadline.as_mut().reset(end),
                None => self.deadline = Some(Box::pin(tokio::time::sleep_until(end))),
            }
        }
        self.deadline.as_mut().expect("set above").as_mut()
    }
}

impl hyper::body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if this.cut.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(axum::Error::new("request body too slow"))));
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.end_wait();
            if let Some(Ok(frame)) = &frame
                && let Some(data) = frame.data_ref()
            {
                this.received += data.len() as u64;
            }
            return Poll::Ready(frame);
        }
        ready!(this.wait().poll(cx));
        this.cut.store(true, Ordering::Relaxed);
        Poll::Ready(Some(Err(axum::Error::new("request body too slow"))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt as _;

    const FLOOR: RateFloor = RateFloor { allowance: Duration::from_secs(2), bytes_per_sec: 100 };

    /// A body fed by hand: each item arrives after its pause.
    fn trickle(parts: Vec<(u64, usize)>) -> Body {
        let stream = futures::stream::iter(parts).then(|(pause_ms, len)| async move {
            tokio::time::sleep(Duration::from_millis(pause_ms)).await;
            Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; len]))
        });
        Body::from_stream(stream)
    }

    async fn read(body: Body) -> Result<usize, axum::Error> {
        let mut stream = body.into_data_stream();
        let mut total = 0;
        while let Some(chunk) = stream.next().await {
            total += chunk?.len();
        }
        Ok(total)
    }

    #[test]
    fn each_byte_earns_time() {
        assert_eq!(FLOOR.allowed(0), Duration::from_secs(2));
        assert_eq!(FLOOR.allowed(250), Duration::from_millis(4500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_above_the_floor_is_read_whole() {
        // 3 s of waiting in all, with 300 bytes earning 3 s more than the 2.
        let (body, cut) = FLOOR.guard(trickle(vec![(1500, 100), (1000, 100), (500, 100)]));
        assert_eq!(read(body).await.unwrap(), 300);
        assert!(!cut.unwrap().load(Ordering::Relaxed));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_is_cut_when_its_allowance_runs_out() {
        let (body, cut) = FLOOR.guard(trickle(vec![(100, 100), (3_600_000, 100)]));
        let started = Instant::now();
        assert!(read(body).await.is_err());
        // 2 s, plus 1 s earned by the first 100 bytes.
        assert_eq!(started.elapsed().as_secs(), 3);
        assert!(cut.unwrap().load(Ordering::Relaxed));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_costs_the_client_nothing() {
        let (body, cut) = FLOOR.guard(trickle(vec![(0, 100), (0, 100)]));
        let mut stream = body.into_data_stream();
        stream.next().await.unwrap().unwrap();
        // The handler dawdles far past the allowance before reading on.
        tokio::time::sleep(Duration::from_secs(60)).await;
        stream.next().await.unwrap().unwrap();
        assert!(stream.next().await.is_none());
        assert!(!cut.unwrap().load(Ordering::Relaxed));
    }

    #[test]
    fn bodiless_requests_and_a_zero_floor_are_left_alone() {
        assert!(FLOOR.guard(Body::empty()).1.is_none());
        assert!(FLOOR.guard(trickle(vec![(0, 10)])).1.is_some());
        let off = RateFloor { bytes_per_sec: 0, ..FLOOR };
        assert!(off.guard(trickle(vec![(0, 10)])).1.is_none());
    }
}
