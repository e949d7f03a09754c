//! Prometheus metrics: requests, latencies, cache hits and misses, and the
//! image work in flight. Served at `/metrics` in the text format.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// Labels of the per-request families, all `&'static str`: counting a
/// request allocates nothing.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

type CacheLabels = [(&'static str, &'static str); 2];

/// Most distinct routes kept as labels; any more count as `other`.
const MAX_ROUTES: usize = 256;

/// All of the service's metrics, registered once.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    cache: Family<CacheLabels, Counter>,
    /// Route templates seen, kept for the process's life as label values.
    routes: std::sync::RwLock<std::collections::HashSet<&'static str>>,
    /// Image jobs running now.
    pub jobs_running: Gauge,
    /// Image jobs waiting for a worker.
    pub jobs_waiting: Gauge,
    /// Jobs turned away with 503: the waiting queue was full, or no worker
    /// freed up within `limits.queue_wait_ms`.
    pub jobs_rejected: Counter,
    /// Of those, the ones that waited the whole `limits.queue_wait_ms`.
    pub jobs_wait_timeouts: Counter,
    /// How long admitted image jobs waited for a worker.
    job_wait: Histogram,
    overload: OverloadLog,
    /// Queue jobs finished, by kind and outcome.
    queue_jobs: Family<Labels, Counter>,
    /// Jobs in the durable queue by state, read at scrape time.
    queue_depth: Family<Labels, Gauge>,
    /// Style renders waiting for a worker, by job kind, read at scrape time.
    queue_ready: Family<Labels, Gauge>,
    /// The shop's funnel: orders reaching each step, by style.
    shop_funnel: Family<Labels, Counter>,
    /// Seconds one style render took, by rendition (preview, artwork).
    style_render: Family<Labels, Histogram>,
    /// Seconds each built-in workflow task took, by resource.
    task_seconds: Family<Labels, Histogram>,
    /// Connections answered 429 and closed at once: their address already
    /// held `limits.connections_per_client`.
    pub connections_refused: Counter,
    /// Requests answered 408 and closed: their body came in below
    /// `limits.body_min_bytes_per_sec`.
    pub slow_bodies_cut: Counter,
    /// Derivatives computed on a cache miss (on-the-fly transforms).
    pub derivatives_computed: Counter,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("pictor");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let cache = Family::<CacheLabels, Counter>::default();
        let (jobs_running, jobs_waiting, jobs_rejected) = (Gauge::default(), Gauge::default(), Counter::default());
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer HTTP requests", latency.clone());
        registry.register("derivative_cache", "Derivative cache lookups by tier and result", cache.clone());
        registry.register("image_jobs_running", "Image jobs running", jobs_running.clone());
        registry.register("image_jobs_waiting", "Image jobs waiting for a worker", jobs_waiting.clone());
        registry.register(
            "image_jobs_rejected",
            "Image jobs refused with 503: the waiting queue was full or no worker freed up in limits.queue_wait_ms",
            jobs_rejected.clone(),
        );
        let jobs_wait_timeouts = Counter::default();
        registry.register(
            "image_jobs_wait_timeouts",
            "Image jobs refused with 503 after waiting limits.queue_wait_ms for a worker (also in image_jobs_rejected)",
            jobs_wait_timeouts.clone(),
        );
        let job_wait = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register("image_job_wait_seconds", "Time admitted image jobs waited for a worker", job_wait.clone());
        let queue_jobs = Family::<Labels, Counter>::default();
        registry.register("queue_jobs", "Queue jobs finished, by kind and outcome", queue_jobs.clone());
        let queue_depth = Family::<Labels, Gauge>::default();
        registry.register(
            "queue_depth",
            "Jobs in the durable queue: ready (waiting or due), leased, dead",
            queue_depth.clone(),
        );
        let queue_ready = Family::<Labels, Gauge>::default();
        registry.register(
            "queue_ready",
            "Jobs due and waiting for a worker, by kind (style.render: add a `pictor worker --only style` when it stays high)",
            queue_ready.clone(),
        );
        let shop_funnel = Family::<Labels, Counter>::default();
        registry.register(
            "shop_orders",
            "Shop orders reaching each step, by style: form, upload, preview_sent, preview_opened, checkout, paid, delivered",
            shop_funnel.clone(),
        );
        let style_render =
            Family::<Labels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.125, 2.0, 12)));
        registry.register("style_render_seconds", "Time one style render took, by rendition", style_render.clone());
        let task_seconds =
            Family::<Labels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.005, 2.0, 14)));
        registry.register("task_seconds", "Time each built-in workflow task took, by resource", task_seconds.clone());
        let connections_refused = Counter::default();
        registry.register(
            "connections_refused",
            "Connections answered 429 and closed at once: their address held limits.connections_per_client",
            connections_refused.clone(),
        );
        let slow_bodies_cut = Counter::default();
        registry.register(
            "slow_bodies_cut",
            "Requests answered 408 and closed: their body came in below limits.body_min_bytes_per_sec",
            slow_bodies_cut.clone(),
        );
        let derivatives_computed = Counter::default();
        registry.register(
            "derivatives_computed",
            "Derivatives computed on a cache miss (each cold derivative once across processes)",
            derivatives_computed.clone(),
        );
        Arc::new(Self {
            registry,
            requests,
            latency,
            cache,
            routes: Default::default(),
            jobs_running,
            jobs_waiting,
            jobs_rejected,
            jobs_wait_timeouts,
            job_wait,
            overload: OverloadLog::default(),
            queue_jobs,
            queue_depth,
            queue_ready,
            shop_funnel,
            style_render,
            task_seconds,
            connections_refused,
            slow_bodies_cut,
            derivatives_computed,
        })
    }

    /// Counts an order reaching a step of the shop's funnel.
    pub fn shop_step(&self, style: &str, step: &'static str) {
        self.shop_funnel.get_or_create(&vec![("style", style.to_string()), ("step", step.to_string())]).inc();
    }

    /// Records one style render's time.
    pub fn style_rendered(&self, rendition: &'static str, seconds: f64) {
        self.style_render.get_or_create(&vec![("rendition", rendition.to_string())]).observe(seconds);
    }

    /// Records one built-in task's time (`resource` is `pictor:…`).
    pub fn task_ran(&self, resource: &str, seconds: f64) {
        self.task_seconds.get_or_create(&vec![("resource", resource.to_string())]).observe(seconds);
    }

    /// Sets the due jobs waiting for a worker, by kind.
    pub fn set_queue_ready(&self, by_kind: &[(String, i64)]) {
        for (kind, n) in by_kind {
            self.queue_ready.get_or_create(&vec![("kind", kind.clone())]).set(*n);
        }
    }

    /// Counts a derivative lookup: `tier` is `memory` or `store`, `result`
    /// is `hit` or `miss`.
    pub fn cache(&self, tier: &'static str, result: &'static str) {
        self.cache.get_or_create(&[("tier", tier), ("result", result)]).inc();
    }

    /// Records how long an admitted image job waited for a worker.
    pub fn job_waited(&self, waited: Duration) {
        self.job_wait.observe(waited.as_secs_f64());
    }

    /// Counts an image job refused with 503. Refusals are not logged one by
    /// one (under overload that would be thousands of lines a second): the
    /// first arms a timer, and when it fires one warning sums up every
    /// refusal since, so there is at most one line per
    /// [`OVERLOAD_WARNING_EVERY`].
    pub fn job_refused(self: &Arc<Self>, why: Refusal) {
        self.jobs_rejected.inc();
        let pending = match why {
            Refusal::QueueFull => &self.overload.queue_full,
            Refusal::WaitedTooLong => {
                self.jobs_wait_timeouts.inc();
                &self.overload.waited
            }
        };
        pending.fetch_add(1, Ordering::AcqRel);
        if self.overload.armed.swap(true, Ordering::AcqRel) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let metrics = self.clone();
                runtime.spawn(async move {
                    tokio::time::sleep(OVERLOAD_WARNING_EVERY).await;
                    metrics.warn_overload();
                });
            }
            // Outside a runtime (not in the server): say it now.
            Err(_) => self.warn_overload(),
        }
    }

    /// Writes the one warning that sums up the refusals since the last.
    fn warn_overload(&self) {
        // Disarm first: a refusal from now on arms the next warning (and may
        // also be counted in this one, never lost).
        self.overload.armed.store(false, Ordering::Release);
        let queue_full = self.overload.queue_full.swap(0, Ordering::AcqRel);
        let waited = self.overload.waited.swap(0, Ordering::AcqRel);
        let refused = queue_full + waited;
        if refused == 0 {
            return;
        }
        self.overload.warnings.fetch_add(1, Ordering::AcqRel);
        tracing::warn!(
            refused,
            queue_full,
            waited_too_long = waited,
            "overloaded: {refused} image requests were answered 503 in the last {}s ({queue_full} found limits.queue \
             requests already waiting, {waited} waited limits.queue_wait_ms for a worker); \
             pictor_image_jobs_rejected_total counts them all. Add processes or cores, or raise limits.queue_wait_ms",
            OVERLOAD_WARNING_EVERY.as_secs()
        );
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
    pub fn http_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let method = match method {
            "GET" => "GET",
            "HEAD" => "HEAD",
            "POST" => "POST",
            "PUT" => "PUT",
            "DELETE" => "DELETE",
            "PATCH" => "PATCH",
            "OPTIONS" => "OPTIONS",
            _ => "other",
        };
        let route = self.route_label(route);
        self.latency.get_or_create(&RouteLabels { route }).observe(seconds);
        self.requests.get_or_create(&RequestLabels { method, route, status }).inc();
    }

    /// `route` as a label value that lives as long as the process. Routes
    /// are the router's templates, a fixed set; past [`MAX_ROUTES`] they
    /// count as `other`, so nothing grows without bound.
    fn route_label(&self, route: &str) -> &'static str {
        if let Some(known) = self.routes.read().expect("route labels").get(route) {
            return known;
        }
        let mut routes = self.routes.write().expect("route labels");
        if let Some(known) = routes.get(route) {
            return known;
        }
        if routes.len() >= MAX_ROUTES {
            return "other";
        }
        let kept: &'static str = Box::leak(route.into());
        routes.insert(kept);
        kept
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }
}

/// Why an image job was refused with 503.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `limits.queue` requests were already waiting: refused at once.
    QueueFull,
    /// No worker freed up within `limits.queue_wait_ms`.
    WaitedTooLong,
}

/// At most one overload warning per this long.
pub const OVERLOAD_WARNING_EVERY: Duration = Duration::from_secs(10);

/// Refusals not yet reported in a warning.
#[derive(Default)]
struct OverloadLog {
    queue_full: AtomicU64,
    waited: AtomicU64,
    /// A warning is due (its timer runs).
    armed: AtomicBool,
    /// Warnings written, for the tests.
    warnings: AtomicU64,
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

    #[tokio::test]
    async fn refusals_arm_one_warning_that_sums_them_up() {
        let m = Metrics::new();
        let pending =
            |m: &Metrics| m.overload.queue_full.load(Ordering::Acquire) + m.overload.waited.load(Ordering::Acquire);
        let timers = || tokio::runtime::Handle::current().metrics().num_alive_tasks();
        for i in 0..1000u64 {
            m.job_refused(if i % 4 == 0 { Refusal::WaitedTooLong } else { Refusal::QueueFull });
        }
        assert_eq!(m.jobs_rejected.get(), 1000);
        assert_eq!(m.jobs_wait_timeouts.get(), 250);
        // One timer for the lot, and no line yet.
        assert_eq!(timers(), 1);
        assert!(m.overload.armed.load(Ordering::Acquire));
        assert_eq!((m.overload.warnings.load(Ordering::Acquire), pending(&m)), (0, 1000));
        // The timer fires (called here directly, not waited for): one line
        // for all thousand.
        m.warn_overload();
        assert_eq!((m.overload.warnings.load(Ordering::Acquire), pending(&m)), (1, 0));
        assert!(!m.overload.armed.load(Ordering::Acquire));
        // The next refusal arms the next window; a window with none writes nothing.
        m.job_refused(Refusal::QueueFull);
        assert!(m.overload.armed.load(Ordering::Acquire));
        m.warn_overload();
        m.warn_overload();
        assert_eq!((m.overload.warnings.load(Ordering::Acquire), pending(&m)), (2, 0));
        let text = m.render();
        assert!(text.contains("pictor_image_jobs_rejected_total 1001"), "{text}");
        assert!(text.contains("pictor_image_jobs_wait_timeouts_total 250"), "{text}");
    }
}
