//! A bounded worker pool for batch commands: one worker per core, each
//! holding one image at a time, so memory stays flat however long the
//! batch; a progress bar on stderr when it is a terminal.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use indicatif::{ProgressBar, ProgressStyle};

/// Runs `work` on every item with `jobs` threads; returns the failures
/// as `(item index, message)`, in input order.
pub fn for_each<T: Sync>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&T) -> anyhow::Result<()> + Sync,
) -> Vec<(usize, String)> {
    let bar = ProgressBar::new(items.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} images  {elapsed} elapsed, {eta} left")
            .expect("static template"),
    );
    if items.len() < 2 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    if let Err(err) = work(item) {
                        bar.suspend(|| eprintln!("error: {err:#}"));
                        failures.lock().expect("no worker panics while holding it").push((index, format!("{err:#}")));
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    let mut failures = failures.into_inner().expect("workers are done");
    failures.sort();
    failures
}

/// Worker count: `requested`, or one per core.
pub fn jobs(requested: Option<usize>) -> usize {
    requested.unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()))
}
