//! Walker efficiency: wall time of a walk against the best any scheduler could do.
//!
//! A seeded random layered DAG gets a fixed latency per visit. With unbounded parallelism the
//! floor is the critical path (longest chain x latency); with `-parallelism` P it is
//! max(critical path, total work / P). A ratio near 1 means the walker adds no waiting of its own.
//! Tokio's timer rounds sleeps up to its 1 ms tick, so the bounds are also given against the
//! measured latency of the same sleep run back to back, which isolates the walker's own share.
//! A last run with zero-latency visits on a large graph measures the walker's own overhead.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};
use trustform_graph::{walk, Dag, NodeId, WalkOptions, DEFAULT_PARALLELISM};

const SEED: u64 = 0x7275_7374_666f_726d;
const LATENCY: Duration = Duration::from_millis(5);
const RUNS: usize = 3;
/// Terraform's default, and a bound no graph here reaches.
const PARALLELISMS: [NonZeroUsize; 2] = [DEFAULT_PARALLELISM, NonZeroUsize::MAX];

/// `layers` layers of `width` nodes; each node past the first layer waits for one to three
/// random nodes of the layer above and, now and then, for one further up.
fn layered_dag(layers: usize, width: usize, rng: &mut StdRng) -> Dag<()> {
    let mut dag = Dag::new();
    let mut above: Vec<Vec<NodeId>> = Vec::with_capacity(layers);
    for layer in 0..layers {
        let nodes: Vec<NodeId> = (0..width).map(|_| dag.add_node(())).collect();
        if let Some(previous) = above.last() {
            for &node in &nodes {
                for _ in 0..rng.random_range(1..=3) {
                    dag.add_edge(previous[rng.random_range(0..width)], node);
                }
                if layer >= 2 && rng.random_bool(0.2) {
                    let further = &above[rng.random_range(0..layer - 1)];
                    dag.add_edge(further[rng.random_range(0..width)], node);
                }
            }
        }
        above.push(nodes);
    }
    dag
}

/// Nodes on the longest dependency chain.
fn longest_chain(dag: &Dag<()>) -> usize {
    let Ok(order) = dag.topological_order() else {
        unreachable!("layered graphs only point downwards");
    };
    let mut depth = BTreeMap::new();
    for id in order {
        let deepest_dependency = dag.dependencies(id).iter().map(|dependency| depth[dependency]).max().unwrap_or(0);
        depth.insert(id, deepest_dependency + 1);
    }
    depth.into_values().max().unwrap_or(0)
}

async fn timed_walk(dag: &Dag<()>, parallelism: NonZeroUsize, latency: Duration) -> Duration {
    let options = WalkOptions { parallelism, ..WalkOptions::default() };
    let begin = Instant::now();
    let report = walk(dag, options, |_| async move {
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        Ok::<(), Infallible>(())
    })
    .await;
    assert!(report.is_success());
    begin.elapsed()
}

async fn best_of_runs(dag: &Dag<()>, parallelism: NonZeroUsize, latency: Duration) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..RUNS {
        best = best.min(timed_walk(dag, parallelism, latency).await);
    }
    best
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn describe(parallelism: NonZeroUsize) -> String {
    if parallelism == NonZeroUsize::MAX {
        "unbounded".to_owned()
    } else {
        parallelism.to_string()
    }
}

/// What one `sleep(LATENCY)` really takes, averaged over back-to-back sleeps.
async fn measured_latency() -> Duration {
    const SAMPLES: u32 = 40;
    let begin = Instant::now();
    for _ in 0..SAMPLES {
        tokio::time::sleep(LATENCY).await;
    }
    begin.elapsed() / SAMPLES
}

async fn latency_bound_walks() {
    let mut rng = StdRng::seed_from_u64(SEED);
    let (layers, width) = (25, 20);
    let dag = layered_dag(layers, width, &mut rng);
    let chain = longest_chain(&dag) as f64;
    let nodes = dag.len() as f64;
    let measured = measured_latency().await;
    println!(
        "graph: {nodes} nodes in {layers} layers of {width}, longest chain {chain}; \
         latency {:.1} ms nominal, {:.2} ms measured; best of {RUNS}",
        millis(LATENCY),
        millis(measured),
    );
    for parallelism in PARALLELISMS {
        let wall = millis(best_of_runs(&dag, parallelism, LATENCY).await);
        let critical_path = chain * millis(LATENCY);
        // The floor for any scheduler with `parallelism` workers.
        let bound = |latency: f64| (chain * latency).max(nodes * latency / parallelism.get() as f64);
        let (nominal_bound, measured_bound) = (bound(millis(LATENCY)), bound(millis(measured)));
        println!(
            "parallelism {:>9}: wall {wall:6.1} ms | critical path {critical_path:6.1} ms, ratio {:.3} \
             | max(critical path, work/P) {nominal_bound:6.1} ms, ratio {:.3} \
             | same at measured latency {measured_bound:6.1} ms, ratio {:.3}",
            describe(parallelism),
            wall / critical_path,
            wall / nominal_bound,
            wall / measured_bound,
        );
    }
}

async fn overhead_walk() {
    let mut rng = StdRng::seed_from_u64(SEED);
    let dag = layered_dag(100, 1_000, &mut rng);
    let edges: usize = dag.node_ids().map(|id| dag.dependents(id).len()).sum();
    for parallelism in PARALLELISMS {
        let wall = best_of_runs(&dag, parallelism, Duration::ZERO).await;
        println!(
            "overhead, zero latency, {} nodes / {edges} edges, parallelism {:>9}: {:6.1} ms, {:4.0} ns per node",
            dag.len(),
            describe(parallelism),
            millis(wall),
            wall.as_secs_f64() * 1e9 / dag.len() as f64,
        );
    }
}

fn main() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    runtime.block_on(async {
        latency_bound_walks().await;
        overhead_walk().await;
    });
    Ok(())
}
