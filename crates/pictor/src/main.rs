//! The `pictor` command: a thin shell over the library crates.
//! Each subcommand lives in `cmd/`, parses its flags with clap, and maps
//! failures to exit codes: 0 success, 1 some input failed, 2 bad usage.

mod cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tune_allocator();
    let cli = cmd::Cli::parse();
    pictor_imaging::quiet_guarded_panics();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// Image work allocates and frees buffers of megabytes on many threads.
/// glibc's malloc raises its mmap threshold to the largest block freed, so
/// after a few large images such buffers come from per-thread arenas, which
/// keep what they held: `pictor serve` peaked at 1.9 GiB while working
/// through 50 uploads of 12-24 MP and sat at 900 MiB once idle. A fixed
/// threshold gives every block past it its own mapping, returned when freed.
/// At 1 MiB a thumbnail paid 3% more CPU in page faults (`bench/serve.sh`,
/// case (s)); at 4 MiB it pays nothing measurable and an original's decode
/// buffers still go back to the system. glibc would set the trim threshold
/// to twice the mmap threshold; fixing one stops that, so both are set.
/// `MALLOC_MMAP_THRESHOLD_` in the environment still wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    use std::ffi::c_int;
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_MMAP_THRESHOLD: c_int = -3;
    unsafe extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
    }
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only sets a parameter of glibc's allocator; it is
        // called first thing, before any other thread exists.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 4 << 20);
            mallopt(M_TRIM_THRESHOLD, 8 << 20);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}
