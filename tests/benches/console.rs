//! `cargo xtask bench console`: the console's download size and how fast the history view
//! shows its first page over a large history.
//!
//! 1. **Size**: the built `.wasm` in `console/dist`, raw and gzipped (target ≤ 350 KB gzipped).
//! 2. **History**: a SQLite database seeded with `--deploys` deploys through `Store::insert_bulk`
//!    (see `shiplog_e2e::deploys::seed_bulk`), the server (release build, console embedded) in
//!    this process, then `--runs` cold navigations — each in a new headless Chromium on a fresh
//!    profile, so nothing is cached — to `/history?namespace=ns-N&status=failed`, a different
//!    namespace each time. Each measures the time from navigation start to the console's
//!    `shiplog:history-rendered` mark (Performance API); reports min/median/max (target ≤ 1 s).
//!
//! Options: `cargo xtask bench console -- --help`. `cargo xtask bench console` builds the
//! console first; run directly (`cargo bench -p shiplog-e2e --bench console`), it measures
//! whatever `console/dist` holds.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use clap::Parser;
use flate2::Compression;
use flate2::write::GzEncoder;
use shiplog_e2e::browser::Browser;
use shiplog_e2e::deploys::{bulk_namespace, seed_bulk};
use shiplog_e2e::server::{Database, TestServer};

/// Targets: the gzipped wasm, and the history view's first page after navigation.
const WASM_GZIP_TARGET: u64 = 350_000;
const RENDER_TARGET: Duration = Duration::from_secs(1);

#[derive(Parser)]
#[command(
    name = "cargo xtask bench console --",
    about = "Download size of the shiplog console and time to the history view's first page"
)]
struct Options {
    /// Deploys stored before the history view is measured.
    #[arg(long, default_value_t = 1_000_000)]
    deploys: usize,
    /// Cold navigations measured.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Added by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    ensure!(options.runs > 0, "--runs must be at least 1");
    let wasm = wasm_file(&shiplog_e2e::console_dist()?)?;
    let (raw, gzipped) = sizes(&wasm)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let times = runtime.block_on(history_render_times(&options))?;

    let kb = |bytes: u64| format!("{:.1} KB", bytes as f64 / 1000.0);
    let ms = |time: Duration| format!("{:.0} ms", time.as_secs_f64() * 1e3);
    let verdict = |met: bool| if met { "ok" } else { "MISSED" };
    let median = times[times.len() / 2];
    let slowest = times[times.len() - 1];
    println!(
        "\nconsole wasm ({}): {} raw, {} gzipped — target ≤ {}: {}",
        wasm.file_name().unwrap_or_default().to_string_lossy(),
        kb(raw),
        kb(gzipped),
        kb(WASM_GZIP_TARGET),
        verdict(gzipped <= WASM_GZIP_TARGET)
    );
    println!(
        "history first page, {} deploys stored, {} cold navigations: min {}, median {}, max {} \
         — target ≤ {}: {}",
        options.deploys,
        times.len(),
        ms(times[0]),
        ms(median),
        ms(slowest),
        ms(RENDER_TARGET),
        verdict(slowest <= RENDER_TARGET)
    );
    Ok(())
}

/// The console's one `.wasm` file.
fn wasm_file(dist: &Path) -> anyhow::Result<PathBuf> {
    let mut found = std::fs::read_dir(dist)?
        .map(|entry| Ok(entry?.path()))
        .filter(|path| {
            path.as_ref()
                .is_ok_and(|p: &PathBuf| p.extension().is_some_and(|e| e == "wasm"))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    ensure!(
        found.len() == 1,
        "expected one .wasm in {}, found {found:?}",
        dist.display()
    );
    Ok(found.remove(0))
}

/// The size of `path`, raw and gzipped (at gzip's default level).
fn sizes(path: &Path) -> anyhow::Result<(u64, u64)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(&bytes)?;
    Ok((bytes.len() as u64, encoder.finish()?.len() as u64))
}

/// Seeds the history, then times the cold navigations; sorted, fastest first.
async fn history_render_times(options: &Options) -> anyhow::Result<Vec<Duration>> {
    let database = Database::new()?;
    let store = database.open().await?;
    let total = options.deploys;
    println!("seed: {total} deploys through Store::insert_bulk");
    let started = Instant::now();
    let mut reported = 0;
    seed_bulk(&store, total, |done| {
        if done * 10 / total.max(1) > reported || done == total {
            reported = done * 10 / total.max(1);
            let rate = done as f64 / started.elapsed().as_secs_f64();
            println!("seed: {done}/{total} deploys ({rate:.0}/s)");
        }
    })
    .await?;
    println!("seed: done in {:.1} s", started.elapsed().as_secs_f64());

    let server = TestServer::on(database, store).await?;
    let mut times = Vec::with_capacity(options.runs);
    for run in 0..options.runs {
        let path = format!("/history?namespace={}&status=failed", bulk_namespace(run));
        let browser = Browser::launch(&server.base).await?;
        let measured = async {
            browser.open(&path).await?;
            let millis = browser.history_rendered().await?;
            let rows = browser.history_ids().await?.len();
            ensure!(rows > 0, "{path} rendered no rows");
            anyhow::Ok((millis, rows))
        }
        .await;
        browser.quit().await;
        let (millis, rows) = measured?;
        println!(
            "history: {path}: first page ({rows} rows) rendered {millis:.0} ms after navigation"
        );
        times.push(Duration::from_secs_f64(millis / 1e3));
    }
    times.sort_unstable();
    Ok(times)
}
