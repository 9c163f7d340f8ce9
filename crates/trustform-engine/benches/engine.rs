//! Engine benchmarks (DESIGN section 9). Prints figures; asserts nothing.
//!
//! 1. Engine overhead: plan time per resource at 1k, 10k and 100k resources with zero-latency
//!    providers, fresh (everything to create) and converged (refresh + no-op diff), with the
//!    log-log growth slope and the process's peak memory.
//! 2. Apply efficiency: wall time of an apply over a layered graph of several hundred resources
//!    with injected per-call latency, divided by the critical-path bound, with state persisted to
//!    a real local backend (fsync) after every resource; with the number of updates (one
//!    `fdatasync` each) and the wall time the store spent on them.
//! 3. Apply scaling: apply of 500, 2000, 5000 and 10000 zero-latency `trustform_data` resources
//!    (ten interleaved chains) through a real local backend on disk (fsync), with the log-log
//!    slope, peak memory, and the ratio to a fresh plan of the same spec; with the updates, the
//!    store's time, and the same apply through a store that keeps nothing (the engine's own
//!    cost), so the figures show where the time goes.
//!
//! Run: `cargo bench -p trustform-engine` (set `TRUSTFORM_BENCH_MAX=10000` for a quicker run;
//! `TRUSTFORM_BENCH_ONLY=apply` runs only the apply benchmarks, `=scaling` only apply scaling,
//! `=plan` only the plan one).
//! `TRUSTFORM_BENCH_SIZES=5000` (comma-separated) picks the apply scaling sizes, to profile one;
//! `TRUSTFORM_BENCH_SHAPES=13` picks its shapes by number (1 chains ten deep, 2 ten long
//! chains, 3 `for_each`).
//! Every timed step runs `TRUSTFORM_BENCH_RUNS` times (default 3) and the median is printed, so
//! one run disturbed by another process does not make the figure.

/// The allocator the `trustform` binary ships with, so the figures are the binary's, counting
/// the bytes it hands out: a figure that does not move with the machine's load, for comparing
/// two builds.
#[global_allocator]
static ALLOCATOR: Counting = Counting(mimalloc::MiMalloc);

struct Counting(mimalloc::MiMalloc);

static ALLOCATED: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on unchanged to mimalloc; only a counter is added.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { self.0.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: the caller's contract is passed on.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new_size.saturating_sub(layout.size()) as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}

/// Bytes handed out so far.
fn allocated() -> u64 {
    ALLOCATED.load(Ordering::Relaxed)
}

use std::collections::BTreeMap;
use std::fmt::Write;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trustform_engine::{Engine, EngineOptions, PlanOptions, Providers};
use trustform_lang::config::load_sources;
use trustform_lang::Value;
use trustform_plan::Plan;
use trustform_state::{LocalBackend, ResourceState, State, StateError, StateStore, StateUpdate};
use trustform_test_provider::{TestProvider, TestProviderConfig};

/// `n` trustform_data resources in ten interleaved chains: r[i] reads r[i-10].
fn chain_spec(n: usize) -> String {
    linked_spec(n, 10)
}

/// `n` trustform_data resources in chains ten deep (the issue's Terraform comparison): r[i]
/// reads r[i-1], except where a chain starts.
fn deep_spec(n: usize) -> String {
    linked_spec(n, 1)
}

/// Two `trustform_data` blocks of n/2 instances each (`for_each` over a map of n/2 keys), each
/// instance of the second reading its instance of the first by key: every expansion is
/// evaluated once per block, and every reference reads one instance.
fn for_each_spec(n: usize) -> String {
    let mut names = String::with_capacity(n * 16);
    for i in 0..n / 2 {
        let _ = writeln!(names, "    k{i} = \"name-{i}\"");
    }
    format!(
        r#"locals {{
  names = {{
{names}  }}
}}

resource "trustform_data" "first" {{
  for_each = local.names
  input    = {{ name = each.value }}
}}

resource "trustform_data" "second" {{
  for_each = local.names
  input    = {{ name = "${{each.value}}-2", after = trustform_data.first[each.key].output.name }}
}}
"#
    )
}

/// r[i] reads r[i-stride]; with stride 1, chains are cut every ten resources.
fn linked_spec(n: usize, stride: usize) -> String {
    let mut spec = String::with_capacity(n * 120);
    for i in 0..n {
        let starts = if stride == 1 { i % 10 == 0 } else { i < stride };
        if starts {
            let _ = writeln!(
                spec,
                "resource \"trustform_data\" \"r{i}\" {{\n  input = {{ name = \"r{i}\", after = \"root\" }}\n}}"
            );
        } else {
            let _ = writeln!(
                spec,
                "resource \"trustform_data\" \"r{i}\" {{\n  input = {{ name = \"r{i}\", after = trustform_data.r{}.output.name }}\n}}",
                i - stride
            );
        }
    }
    spec
}

fn engine(spec: String, providers: Providers, parallelism: usize) -> Engine {
    let (config, diags) = load_sources([("bench.tf".to_owned(), spec)]);
    assert!(!diags.has_errors(), "{diags:?}");
    let options =
        EngineOptions { parallelism: NonZeroUsize::new(parallelism).expect("positive"), ..EngineOptions::default() };
    let (engine, diags) = Engine::new(config, BTreeMap::new(), providers, options);
    assert!(!diags.has_errors(), "{diags:?}");
    engine.expect("engine")
}

/// The state an apply of `plan` would leave, built directly so the benchmark measures planning.
fn converged_state(plan: &Plan) -> State {
    let mut state = State::new();
    for (i, change) in plan.changes.iter().enumerate() {
        let mut value = change.after().cloned().expect("creates have an after value");
        if let Value::Object(map) = &mut value {
            map.insert("id".into(), Value::from(format!("id-{i}")));
            // What apply computes: `output` is unknown at plan (as terraform_data's), and in
            // the chains `input.after` is the name of the resource ten before.
            let name = change.address.to_string();
            let n: usize = name.rsplit('r').next().and_then(|d| d.parse().ok()).unwrap_or(0);
            let after = if n < 10 { "root".to_owned() } else { format!("r{}", n - 10) };
            let input = Value::object([("name", Value::from(format!("r{n}"))), ("after", Value::from(after))]);
            map.insert("input".into(), input.clone());
            map.insert("output".into(), input);
        }
        let resource =
            ResourceState::from_value(change.address.type_name(), "trustform", &value, change.dependencies.clone())
                .expect("known");
        state.resources.insert(change.address.clone(), resource);
    }
    state
}

/// A store that counts the updates it is handed and the time it spends on them and on the
/// closing checkpoint, and passes them on: how many durable writes (one `fdatasync` each, on the
/// local backend) an apply makes, and how much of its wall time they take. An apply's updates
/// run one at a time, so the time is wall time.
struct Counted<S> {
    inner: S,
    updates: AtomicUsize,
    micros: AtomicU64,
}

impl<S> Counted<S> {
    fn new(inner: S) -> Self {
        Counted { inner, updates: AtomicUsize::new(0), micros: AtomicU64::new(0) }
    }

    fn updates(&self) -> usize {
        self.updates.load(Ordering::Relaxed)
    }

    fn store_ms(&self) -> f64 {
        self.micros.load(Ordering::Relaxed) as f64 / 1e3
    }

    fn timed(&self, started: Instant) {
        self.micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    }
}

#[async_trait::async_trait]
impl<S: StateStore> StateStore for Counted<S> {
    async fn read(&self) -> Result<Option<State>, StateError> {
        self.inner.read().await
    }

    async fn write(&self, state: &State) -> Result<(), StateError> {
        self.inner.write(state).await
    }

    async fn persist(&self, update: &StateUpdate<'_>) -> Result<(), StateError> {
        self.updates.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let result = self.inner.persist(update).await;
        self.timed(started);
        result
    }

    async fn checkpoint(&self, state: &State) -> Result<(), StateError> {
        let started = Instant::now();
        let result = self.inner.checkpoint(state).await;
        self.timed(started);
        result
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// A store that keeps nothing: an apply through it costs what the engine itself costs, the
/// floor under an apply through a real store.
struct Discard;

#[async_trait::async_trait]
impl StateStore for Discard {
    async fn read(&self) -> Result<Option<State>, StateError> {
        Ok(None)
    }

    async fn write(&self, _: &State) -> Result<(), StateError> {
        Ok(())
    }

    async fn persist(&self, _: &StateUpdate<'_>) -> Result<(), StateError> {
        Ok(())
    }

    fn describe(&self) -> String {
        "nowhere".to_owned()
    }
}

/// The sizes apply scaling measures: 500, 2000, 5000 and 10000, or `TRUSTFORM_BENCH_SIZES`
/// (comma-separated), to profile one size.
fn scaling_sizes() -> Vec<usize> {
    std::env::var("TRUSTFORM_BENCH_SIZES")
        .ok()
        .map(|sizes| sizes.split(',').filter_map(|n| n.trim().parse().ok()).collect::<Vec<usize>>())
        .filter(|sizes| !sizes.is_empty())
        .unwrap_or_else(|| vec![500, 2_000, 5_000, 10_000])
}

/// How many times each timed step runs; its median is what is printed.
fn runs() -> usize {
    std::env::var("TRUSTFORM_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(3)
}

/// The median time of `runs()` runs of `step`.
async fn median<F, Fut>(mut step: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let mut times = Vec::new();
    for _ in 0..runs() {
        times.push(step().await);
    }
    times.sort();
    times[times.len() / 2]
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

async fn plan_overhead(max: usize) {
    println!("== plan overhead, zero-latency provider (trustform_data, ten interleaved chains)");
    println!("{:>8} {:>10} {:>16} {:>16} {:>14}", "n", "parse ms", "fresh us/res", "converged us/res", "peak RSS MiB");
    let mut points = Vec::new();
    let mut n = 1_000;
    while n <= max {
        let spec = chain_spec(n);
        let started = Instant::now();
        let engine = engine(spec, Providers::new(), 10);
        let parse = started.elapsed();

        let (plan, diags) = engine.plan(&State::new(), &PlanOptions::normal()).await;
        assert!(!diags.has_errors(), "{diags:?}");
        let plan = plan.expect("plan");
        assert_eq!(plan.summary().add, n);
        let engine = &engine;
        let fresh = median(move || async move {
            let started = Instant::now();
            let (plan, _) = engine.plan(&State::new(), &PlanOptions::normal()).await;
            let elapsed = started.elapsed();
            drop(plan);
            elapsed
        })
        .await;

        let state = converged_state(&plan);
        let (replan, diags) = engine.plan(&state, &PlanOptions::normal()).await;
        assert!(!diags.has_errors(), "{diags:?}");
        assert!(!replan.expect("plan").has_changes());
        let state = &state;
        let converged = median(move || async move {
            let started = Instant::now();
            let (replan, _) = engine.plan(state, &PlanOptions::normal()).await;
            let elapsed = started.elapsed();
            drop(replan);
            elapsed
        })
        .await;

        let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!(
            "{n:>8} {:>10.1} {:>16.2} {:>16.2} {:>14.1}",
            parse.as_secs_f64() * 1e3,
            per(fresh),
            per(converged),
            peak_rss_mib()
        );
        points.push((n as f64, fresh.as_secs_f64(), converged.as_secs_f64()));
        n *= 10;
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        if last.0 > first.0 {
            let slope = |a: f64, b: f64| (b.ln() - a.ln()) / (last.0.ln() - first.0.ln());
            println!(
                "log-log slope {}k -> {}k: fresh {:.3}, converged {:.3} (1.0 = linear)",
                first.0 / 1e3,
                last.0 / 1e3,
                slope(first.1, last.1),
                slope(first.2, last.2)
            );
        }
    }
}

/// `layers` x `width` test resources; each resource of layer k depends on two of layer k-1.
fn layered_spec(layers: usize, width: usize) -> String {
    let mut spec = String::new();
    for layer in 0..layers {
        for i in 0..width {
            let input = if layer == 0 {
                "\"root\"".to_owned()
            } else {
                let (a, b) = (i, (i * 7 + 3) % width);
                format!("\"${{test_resource.l{}_{a}.id}}+${{test_resource.l{}_{b}.id}}\"", layer - 1, layer - 1)
            };
            let _ = writeln!(
                spec,
                "resource \"test_resource\" \"l{layer}_{i}\" {{\n  name  = \"l{layer}-{i}\"\n  input = {input}\n}}"
            );
        }
    }
    spec
}

async fn apply_efficiency() {
    println!("\n== apply efficiency: layered graph, injected latency, local backend with fsync");
    let latency = Duration::from_millis(25);
    let measured = {
        let started = Instant::now();
        for _ in 0..20 {
            tokio::time::sleep(latency).await;
        }
        started.elapsed() / 20
    };
    println!("injected latency {latency:?} per call (a timer sleep measures {measured:.2?} here)");
    println!(
        "{:>7} {:>6} {:>12} {:>10} {:>12} {:>10} {:>8} {:>8} {:>9}",
        "layers", "width", "parallelism", "wall ms", "bound ms", "ratio", "calls", "updates", "store ms"
    );
    for (layers, width, parallelism) in [(10, 40, 64), (20, 20, 32), (10, 40, 10)] {
        // Each run gets its own provider (whose objects a run creates) and engine; the counts
        // printed are the last run's (every run makes the same calls).
        let last = std::cell::Cell::new((0, 0, 0.0));
        let last_ref = &last;
        let wall = median(move || async move {
            let provider = TestProvider::new(TestProviderConfig::default().latency(latency));
            let mut providers = Providers::new();
            providers.register(Arc::new(provider.clone()));
            let engine = engine(layered_spec(layers, width), providers, parallelism);
            let (plan, _) = engine.plan(&State::new(), &PlanOptions::normal()).await;
            let plan = plan.expect("plan");
            provider.reset_calls();
            let dir = tempfile::tempdir().expect("temp dir");
            let store = Counted::new(LocalBackend::new(dir.path().join("state/default.tfstate")));
            let started = Instant::now();
            let outcome = engine.apply(&plan, State::new(), &store).await;
            let wall = started.elapsed();
            assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics);
            last_ref.set((provider.calls().len(), store.updates(), store.store_ms()));
            wall
        })
        .await;
        let (calls, updates, store_ms) = last.get();
        let total = layers * width;
        // The critical path is `layers` calls; with fewer workers than width, the work bound wins.
        let waves = layers.max(total.div_ceil(parallelism));
        let bound = measured * waves as u32;
        println!(
            "{layers:>7} {width:>6} {parallelism:>12} {:>10.1} {:>12.1} {:>10.3} {:>8} {:>8} {:>9.1}",
            wall.as_secs_f64() * 1e3,
            bound.as_secs_f64() * 1e3,
            wall.as_secs_f64() / bound.as_secs_f64(),
            calls,
            updates,
            store_ms
        );
    }
}

async fn apply_scaling() {
    // Chains ten deep (n/10 of them): what the issue compares with Terraform. Ten chains n/10
    // deep: every step of a chain waits for its predecessor to be durable, so n/10 writes
    // follow one another whatever the batching; the disk's sync time bounds that one.
    let shapes = std::env::var("TRUSTFORM_BENCH_SHAPES").unwrap_or_default();
    for (number, shape, spec) in [
        ('1', "chains ten deep", deep_spec as fn(usize) -> String),
        ('2', "ten chains n/10 deep", chain_spec),
        ('3', "two for_each blocks of n/2 instances", for_each_spec),
    ] {
        if shapes.is_empty() || shapes.contains(number) {
            apply_scaling_of(shape, spec).await;
        }
    }
}

async fn apply_scaling_of(shape: &str, spec: fn(usize) -> String) {
    println!("\n== apply scaling: zero-latency trustform_data, {shape}, local backend with fsync");
    println!("(\"no store\": the same apply through a store that keeps nothing, the engine's own cost)");
    println!("(\"KiB/res\": bytes allocated per resource by the apply, and by the apply with no store)");
    println!(
        "{:>8} {:>10} {:>10} {:>12} {:>12} {:>8} {:>9} {:>12} {:>8} {:>13} {:>13}",
        "n",
        "plan ms",
        "apply ms",
        "apply us/res",
        "apply/plan",
        "updates",
        "store ms",
        "no store ms",
        "KiB/res",
        "no store KiB",
        "peak RSS MiB"
    );
    let mut points = Vec::new();
    for n in scaling_sizes() {
        let engine = engine(spec(n), Providers::new(), 10);
        let (plan, diags) = engine.plan(&State::new(), &PlanOptions::normal()).await;
        assert!(!diags.has_errors(), "{diags:?}");
        let plan = plan.expect("plan");
        assert_eq!(plan.summary().add, n);
        let (engine, plan) = (&engine, &plan);
        let plan_time = median(move || async move {
            let started = Instant::now();
            let (plan, _) = engine.plan(&State::new(), &PlanOptions::normal()).await;
            let elapsed = started.elapsed();
            drop(plan);
            elapsed
        })
        .await;

        let last = std::cell::Cell::new((0, 0.0, 0));
        let last_ref = &last;
        let apply_time = median(move || async move {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = Counted::new(LocalBackend::new(dir.path().join("state/default.tfstate")));
            let (bytes, started) = (allocated(), Instant::now());
            let outcome = engine.apply(plan, State::new(), &store).await;
            let apply_time = started.elapsed();
            let bytes = allocated() - bytes;
            assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics);
            assert_eq!(outcome.state.resources.len(), n);
            let stored = store.read().await.expect("readable state").expect("a state");
            assert_eq!(stored.resources.len(), n, "every resource is durable");
            last_ref.set((store.updates(), store.store_ms(), bytes));
            apply_time
        })
        .await;
        let (updates, store_ms, bytes) = last.get();

        let floor_bytes = std::cell::Cell::new(0);
        let floor_bytes_ref = &floor_bytes;
        let floor = median(move || async move {
            let (bytes, started) = (allocated(), Instant::now());
            let outcome = engine.apply(plan, State::new(), &Discard).await;
            let floor = started.elapsed();
            floor_bytes_ref.set(allocated() - bytes);
            assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics);
            floor
        })
        .await;
        let kib_per = |bytes: u64| bytes as f64 / 1024.0 / n as f64;

        println!(
            "{n:>8} {:>10.1} {:>10.1} {:>12.1} {:>12.2} {:>8} {:>9.1} {:>12.1} {:>8.1} {:>13.1} {:>13.1}",
            plan_time.as_secs_f64() * 1e3,
            apply_time.as_secs_f64() * 1e3,
            apply_time.as_secs_f64() * 1e6 / n as f64,
            apply_time.as_secs_f64() / plan_time.as_secs_f64(),
            updates,
            store_ms,
            floor.as_secs_f64() * 1e3,
            kib_per(bytes),
            kib_per(floor_bytes.get()),
            peak_rss_mib()
        );
        points.push((n as f64, apply_time.as_secs_f64()));
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let slope = (last.1.ln() - first.1.ln()) / (last.0.ln() - first.0.ln());
        println!("apply log-log slope {} -> {}: {slope:.3} (1.0 = linear)", first.0, last.0);
    }
}

#[tokio::main]
async fn main() {
    let max = std::env::var("TRUSTFORM_BENCH_MAX").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let only = std::env::var("TRUSTFORM_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "plan" {
        plan_overhead(max).await;
    }
    if only != "plan" {
        if only != "scaling" {
            apply_efficiency().await;
        }
        apply_scaling().await;
    }
}
