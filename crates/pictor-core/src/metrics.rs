//! Prometheus metrics: requests, latencies, cache hits and misses, and the
//! image work in flight. Served at `/metrics` in the text format.

use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// All of the service's metrics, registered once.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
    cache: Family<Labels, Counter>,
    /// Image jobs running now.
    pub jobs_running: Gauge,
    /// Image jobs waiting for a worker.
    pub jobs_waiting: Gauge,
    /// Jobs turned away with 503 because the queue was full.
    pub jobs_rejected: Counter,
    /// Queue jobs finished, by kind and outcome.
    queue_jobs: Family<Labels, Counter>,
    /// Jobs in the durable queue by state, read at scrape time.
    queue_depth: Family<Labels, Gauge>,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("pictor");
        let requests = Family::<Labels, Counter>::default();
        let latency =
            Family::<Labels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16)));
        let cache = Family::<Labels, Counter>::default();
        let (jobs_running, jobs_waiting, jobs_rejected) = (Gauge::default(), Gauge::default(), Counter::default());
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer HTTP requests", latency.clone());
        registry.register("derivative_cache", "Derivative cache lookups by tier and result", cache.clone());
        registry.register("image_jobs_running", "Image jobs running", jobs_running.clone());
        registry.register("image_jobs_waiting", "Image jobs waiting for a worker", jobs_waiting.clone());
        registry.register(
            "image_jobs_rejected",
            "Image jobs refused because the queue was full",
            jobs_rejected.clone(),
        );
        let queue_jobs = Family::<Labels, Counter>::default();
        registry.register("queue_jobs", "Queue jobs finished, by kind and outcome", queue_jobs.clone());
        let queue_depth = Family::<Labels, Gauge>::default();
        registry.register(
            "queue_depth",
            "Jobs in the durable queue: ready (waiting or due), leased, dead",
            queue_depth.clone(),
        );
        Arc::new(Self {
            registry,
            requests,
            latency,
            cache,
            jobs_running,
            jobs_waiting,
            jobs_rejected,
            queue_jobs,
            queue_depth,
        })
    }

    /// Counts a derivative lookup: `tier` is `memory` or `store`, `result`
    /// is `hit` or `miss`.
    pub fn cache(&self, tier: &'static str, result: &'static str) {
        self.cache.get_or_create(&vec![("tier", tier.to_string()), ("result", result.to_string())]).inc();
    }

    /// Counts a finished queue job: `outcome` is `done`, `retry` or `failed`.
    pub fn jobs_finished(&self, kind: &str, outcome: &'static str) {
        self.queue_jobs.get_or_create(&vec![("kind", kind.to_string()), ("outcome", outcome.to_string())]).inc();
    }

    /// Sets the queue depth gauges (all processes' jobs: the queue is shared).
    pub fn set_queue(&self, ready: i64, leased: i64, dead: i64) {
        for (state, n) in [("ready", ready), ("leased", leased), ("dead", dead)] {
            self.queue_depth.get_or_create(&vec![("state", state.to_string())]).set(n);
        }
    }

    /// Counts one answered HTTP request under its matched `route`. Only
    /// standard methods become labels, so clients cannot grow the metric
    /// families without bound.
    pub fn http_request(&self, method: &str, route: String, status: u16, seconds: f64) {
        let method = match method {
            m @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS") => m,
            _ => "other",
        };
        self.latency.get_or_create(&vec![("route", route.clone())]).observe(seconds);
        let labels = vec![("method", method.to_string()), ("route", route), ("status", status.to_string())];
        self.requests.get_or_create(&labels).inc();
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.cache("memory", "hit");
        m.jobs_running.set(2);
        let text = m.render();
        assert!(text.contains("pictor_derivative_cache_total{tier=\"memory\",result=\"hit\"} 1"), "{text}");
        assert!(text.contains("pictor_image_jobs_running 2"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
