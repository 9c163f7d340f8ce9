use crate::dag::{Dag, NodeId};
use futures::future::Either;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use std::collections::{btree_map, BTreeMap, BTreeSet};
use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Terraform's default `-parallelism`.
pub const DEFAULT_PARALLELISM: NonZeroUsize = match NonZeroUsize::new(10) {
    Some(parallelism) => parallelism,
    None => unreachable!(),
};

#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// The most visits in flight at once: `-parallelism`, bounded here and nowhere else.
    pub parallelism: NonZeroUsize,
    /// Ctrl-C: once cancelled, no further visit starts, visits already in flight run to their
    /// end, and every node not started is reported [`Outcome::NotStarted`].
    pub cancel: CancellationToken,
}

impl Default for WalkOptions {
    fn default() -> Self {
        Self { parallelism: DEFAULT_PARALLELISM, cancel: CancellationToken::new() }
    }
}

/// What happened to one node during a [`walk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<E> {
    Succeeded,
    Failed(E),
    /// Never visited because `because`, one of its ancestors, failed.
    Skipped {
        because: NodeId,
    },
    /// Never visited because the walk was cancelled first, or because the node waits, directly
    /// or not, on a cycle (check [`Dag::cycles`] before walking).
    NotStarted,
}

/// The outcome of every node of a walk, in ascending [`NodeId`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkReport<E> {
    outcomes: BTreeMap<NodeId, Outcome<E>>,
}

impl<E> WalkReport<E> {
    /// `None` only for an id that is not a node of the walked graph.
    pub fn outcome(&self, id: NodeId) -> Option<&Outcome<E>> {
        self.outcomes.get(&id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (NodeId, &Outcome<E>)> {
        self.outcomes.iter().map(|(&id, outcome)| (id, outcome))
    }

    /// True when every node was visited and succeeded.
    pub fn is_success(&self) -> bool {
        self.outcomes.values().all(|outcome| matches!(outcome, Outcome::Succeeded))
    }

    pub fn succeeded(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.iter().filter(|(_, outcome)| matches!(outcome, Outcome::Succeeded)).map(|(id, _)| id)
    }

    pub fn failed(&self) -> impl Iterator<Item = (NodeId, &E)> {
        self.iter().filter_map(|(id, outcome)| match outcome {
            Outcome::Failed(error) => Some((id, error)),
            _ => None,
        })
    }

    /// Each skipped node with the failed ancestor that skipped it.
    pub fn skipped(&self) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        self.iter().filter_map(|(id, outcome)| match outcome {
            Outcome::Skipped { because } => Some((id, *because)),
            _ => None,
        })
    }

    pub fn not_started(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.iter().filter(|(_, outcome)| matches!(outcome, Outcome::NotStarted)).map(|(id, _)| id)
    }
}

impl<E> IntoIterator for WalkReport<E> {
    type Item = (NodeId, Outcome<E>);
    type IntoIter = btree_map::IntoIter<NodeId, Outcome<E>>;

    fn into_iter(self) -> Self::IntoIter {
        self.outcomes.into_iter()
    }
}

/// Visits every node of `dag` once all of its dependencies have succeeded, and reports what
/// happened to each.
///
/// - A node starts the moment its last dependency succeeds, not when a whole "level" is done.
///   Among nodes ready at the same moment, the smallest id starts first.
/// - At most `options.parallelism` visits are in flight at once. The visit futures are driven
///   inside the caller's task, so `visit` may borrow from the caller and nothing needs to be
///   `'static` or `Send`; the walk's future is `Send` when `visit`, its futures and `E` are.
/// - A failed visit marks every descendant [`Outcome::Skipped`] without visiting it; branches
///   that do not depend on the failure run to completion.
/// - Cancellation stops new visits from starting and lets those in flight finish.
pub async fn walk<N, E, F, Fut>(dag: &Dag<N>, options: WalkOptions, mut visit: F) -> WalkReport<E>
where
    F: FnMut(NodeId) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    walk_releasing(dag, options, |id, _slot| visit(id)).await
}

/// A visit's place among the `parallelism` visits in flight. [`Slot::release`] gives it up
/// before the visit ends: the visit goes on (and its dependents still wait for its end), but
/// another may start. Apply releases its slot once the provider has answered and only the
/// state write is left, so that waiting for the disk does not hold back provider calls.
#[derive(Debug, Clone)]
pub struct Slot {
    released: Arc<AtomicBool>,
    walk: Arc<Released>,
}

/// How many visits in flight gave up their slot, and the walk's wake-up when one does.
#[derive(Debug, Default)]
struct Released {
    count: AtomicUsize,
    notify: Notify,
}

impl Slot {
    /// Frees this visit's slot; only the first call counts.
    pub fn release(&self) {
        if !self.released.swap(true, Ordering::SeqCst) {
            self.walk.count.fetch_add(1, Ordering::SeqCst);
            self.walk.notify.notify_one();
        }
    }
}

/// [`walk`], with each visit given its [`Slot`]: at most `options.parallelism` visits that
/// have not released their slot are in flight at once.
pub async fn walk_releasing<N, E, F, Fut>(dag: &Dag<N>, options: WalkOptions, mut visit: F) -> WalkReport<E>
where
    F: FnMut(NodeId, Slot) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut progress = Progress::new(dag);
    let mut in_flight = FuturesUnordered::new();
    let released = Arc::new(Released::default());
    let mut started_this_turn = 0;
    loop {
        if started_this_turn >= TURN {
            // Visits that run without waiting (a zero-latency provider, a no-op) would
            // otherwise keep this task busy for the whole walk, and what runs beside it in the
            // same task (the apply's state writer) would wait for the walk to end.
            tokio::task::yield_now().await;
            started_this_turn = 0;
        }
        // Invariant: visits in flight that hold their slot are at most `parallelism`. Every
        // visit lives in `in_flight` from its start until its result is recorded, and this is
        // the only place visits start.
        while in_flight.len() - released.count.load(Ordering::SeqCst) < options.parallelism.get()
            && !options.cancel.is_cancelled()
        {
            let Some(id) = progress.ready.pop_first() else {
                break;
            };
            let slot = Slot { released: Arc::new(AtomicBool::new(false)), walk: released.clone() };
            let flag = slot.released.clone();
            in_flight.push(visit(id, slot).map(move |result| (id, result, flag)));
            started_this_turn += 1;
        }
        let finished = {
            let next = std::pin::pin!(in_flight.next());
            let woken = std::pin::pin!(released.notify.notified());
            match futures::future::select(next, woken).await {
                Either::Left((finished, _)) => finished,
                // A slot was released: start what may start, then wait again.
                Either::Right(_) => continue,
            }
        };
        let Some((id, result, flag)) = finished else {
            break;
        };
        if flag.load(Ordering::SeqCst) {
            released.count.fetch_sub(1, Ordering::SeqCst);
        }
        progress.record(id, result);
    }
    progress.into_report()
}

/// How many visits a walk starts before it lets the rest of its task run: a count rather than
/// a time, so that which changes share a state update does not depend on the machine's speed.
const TURN: usize = 32;

/// Bookkeeping of a walk, in tables indexed by [`NodeId::index`].
struct Progress<'dag, N, E> {
    dag: &'dag Dag<N>,
    /// Dependencies each node still waits for; a node becomes ready when this reaches zero.
    waiting_on: Vec<usize>,
    /// `None` until the node succeeds, fails or is skipped.
    outcomes: Vec<Option<Outcome<E>>>,
    /// Nodes whose dependencies all succeeded, not yet started. Ordered, so ties go to the
    /// smallest id.
    ready: BTreeSet<NodeId>,
}

impl<'dag, N, E> Progress<'dag, N, E> {
    fn new(dag: &'dag Dag<N>) -> Self {
        let waiting_on = dag.dependency_counts();
        let ready = dag.node_ids().filter(|id| waiting_on[id.index()] == 0).collect();
        Self { dag, waiting_on, outcomes: (0..dag.index_bound()).map(|_| None).collect(), ready }
    }

    fn record(&mut self, id: NodeId, result: Result<(), E>) {
        match result {
            Ok(()) => {
                self.outcomes[id.index()] = Some(Outcome::Succeeded);
                for dependent in self.dag.dependents_unordered(id) {
                    let waiting_on = &mut self.waiting_on[dependent.index()];
                    *waiting_on -= 1;
                    if *waiting_on == 0 {
                        self.ready.insert(dependent);
                    }
                }
            }
            Err(error) => {
                self.outcomes[id.index()] = Some(Outcome::Failed(error));
                self.skip_descendants_of(id);
            }
        }
    }

    /// Descendants of a failed node cannot have started (each waits, through its chain, on the
    /// failure), so all of them are still undecided or already skipped by an earlier failure,
    /// whose own descendants are then skipped too.
    fn skip_descendants_of(&mut self, failed: NodeId) {
        let mut stack: Vec<NodeId> = self.dag.dependents_unordered(failed).collect();
        while let Some(id) = stack.pop() {
            let outcome = &mut self.outcomes[id.index()];
            if outcome.is_none() {
                *outcome = Some(Outcome::Skipped { because: failed });
                stack.extend(self.dag.dependents_unordered(id));
            }
        }
    }

    fn into_report(mut self) -> WalkReport<E> {
        let outcomes = self
            .dag
            .node_ids()
            .map(|id| {
                let outcome = self.outcomes[id.index()].take().unwrap_or(Outcome::NotStarted);
                (id, outcome)
            })
            .collect();
        WalkReport { outcomes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    use tokio::time::{sleep, Instant};

    fn graph(nodes: usize, edges: &[(usize, usize)]) -> (Dag<usize>, Vec<NodeId>) {
        let mut dag = Dag::new();
        let ids: Vec<NodeId> = (0..nodes).map(|n| dag.add_node(n)).collect();
        for &(from, to) in edges {
            dag.add_edge(ids[from], ids[to]);
        }
        (dag, ids)
    }

    fn with_parallelism(parallelism: usize) -> WalkOptions {
        WalkOptions { parallelism: NonZeroUsize::new(parallelism).unwrap(), ..WalkOptions::default() }
    }

    fn pick(ids: &[NodeId], positions: &[usize]) -> Vec<NodeId> {
        positions.iter().map(|&p| ids[p]).collect()
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Event {
        Start(NodeId),
        Finish(NodeId),
    }

    /// Walks with a visit that yields once between start and finish, so that siblings interleave,
    /// and returns the report with the event log.
    async fn walk_logged(dag: &Dag<usize>, options: WalkOptions) -> (WalkReport<&'static str>, Vec<Event>) {
        let log = RefCell::new(Vec::new());
        let report = walk(dag, options, |id| {
            let log = &log;
            async move {
                log.borrow_mut().push(Event::Start(id));
                tokio::task::yield_now().await;
                log.borrow_mut().push(Event::Finish(id));
                Ok(())
            }
        })
        .await;
        (report, log.into_inner())
    }

    fn assert_dependencies_finish_first(dag: &Dag<usize>, log: &[Event]) {
        for id in dag.node_ids() {
            let started = log.iter().position(|e| *e == Event::Start(id)).unwrap();
            for dependency in dag.dependencies(id) {
                let finished = log.iter().position(|e| *e == Event::Finish(dependency)).unwrap();
                assert!(finished < started, "{id} started before {dependency} finished");
            }
        }
    }

    #[tokio::test]
    async fn diamond_visits_every_node_after_its_dependencies() {
        let (dag, ids) = graph(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]);
        let (report, log) = walk_logged(&dag, WalkOptions::default()).await;
        assert!(report.is_success());
        assert_eq!(report.succeeded().collect::<Vec<_>>(), ids);
        assert_dependencies_finish_first(&dag, &log);
        // Both arms of the diamond run together.
        assert_eq!(&log[2..4], &[Event::Start(ids[1]), Event::Start(ids[2])], "{log:?}");
    }

    #[tokio::test]
    async fn chain_runs_one_node_at_a_time_in_order() {
        let (dag, ids) = graph(4, &[(2, 3), (0, 1), (1, 2)]);
        let (report, log) = walk_logged(&dag, WalkOptions::default()).await;
        assert!(report.is_success());
        let expected: Vec<Event> = ids.iter().flat_map(|&id| [Event::Start(id), Event::Finish(id)]).collect();
        assert_eq!(log, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn a_node_starts_as_soon_as_its_own_dependencies_succeed() {
        // 0 is slow; 1 -> 2 -> 3 is a chain of fast nodes that must not wait for 0.
        let (dag, ids) = graph(5, &[(1, 2), (2, 3), (0, 4), (3, 4)]);
        let latency = |id: NodeId| {
            if id == ids[0] {
                Duration::from_millis(100)
            } else {
                Duration::from_millis(10)
            }
        };
        let begin = Instant::now();
        let started = RefCell::new(BTreeMap::new());
        let report: WalkReport<()> = walk(&dag, WalkOptions::default(), |id| {
            let started = &started;
            async move {
                started.borrow_mut().insert(id, begin.elapsed());
                sleep(latency(id)).await;
                Ok(())
            }
        })
        .await;
        assert!(report.is_success());
        let started = started.into_inner();
        let ms = Duration::from_millis;
        assert_eq!(started[&ids[1]], ms(0));
        assert_eq!(started[&ids[2]], ms(10));
        assert_eq!(started[&ids[3]], ms(20), "level-by-level would wait for 0");
        assert_eq!(started[&ids[4]], ms(100));
    }

    /// Runs a walk whose visits take varied (paused-clock) time and returns the most visits that
    /// were ever in flight together, and the order in which visits started.
    async fn in_flight_maximum(dag: &Dag<usize>, options: WalkOptions) -> (usize, Vec<NodeId>) {
        let current = AtomicUsize::new(0);
        let maximum = AtomicUsize::new(0);
        let starts = RefCell::new(Vec::new());
        let report: WalkReport<()> = walk(dag, options, |id| {
            let (current, maximum, starts) = (&current, &maximum, &starts);
            async move {
                starts.borrow_mut().push(id);
                let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                maximum.fetch_max(now, Ordering::SeqCst);
                sleep(Duration::from_millis(1 + (id.index() as u64 * 7) % 5)).await;
                current.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .await;
        assert!(report.is_success());
        (maximum.into_inner(), starts.into_inner())
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_visits_never_exceed_parallelism_and_reach_it() {
        // Twelve independent roots, each with a dependent: plenty of ready work.
        let edges: Vec<(usize, usize)> = (0..12).map(|n| (n, n + 12)).collect();
        let (dag, _) = graph(24, &edges);
        for parallelism in [1, 3, 5] {
            let (maximum, _) = in_flight_maximum(&dag, with_parallelism(parallelism)).await;
            assert_eq!(maximum, parallelism);
        }
        let (maximum, _) = in_flight_maximum(&dag, with_parallelism(1000)).await;
        assert_eq!(maximum, 12, "all roots start together when allowed");
    }

    #[tokio::test(start_paused = true)]
    async fn nodes_ready_together_start_in_id_order() {
        // 0 is the root; its dependents are wired in the order 3, 1, 2.
        let (dag, ids) = graph(4, &[(0, 3), (0, 1), (0, 2)]);
        let (_, starts) = in_flight_maximum(&dag, with_parallelism(1)).await;
        assert_eq!(starts, ids);

        let (dag, _) = graph(6, &[(5, 0), (4, 1), (0, 2), (3, 2), (1, 3)]);
        let (_, starts) = in_flight_maximum(&dag, with_parallelism(1)).await;
        assert_eq!(Ok(starts), dag.topological_order());
    }

    #[tokio::test(start_paused = true)]
    async fn failure_skips_descendants_and_independent_branches_finish() {
        // 0 fails at once. 1 -> 2 hang off it, 3 waits for both 0 and the slow branch 4 -> 5.
        let (dag, ids) = graph(6, &[(0, 1), (1, 2), (0, 3), (4, 3), (4, 5)]);
        let visited = RefCell::new(Vec::new());
        let report = walk(&dag, WalkOptions::default(), |id| {
            let visited = &visited;
            let fails = id == ids[0];
            async move {
                visited.borrow_mut().push(id);
                if fails {
                    return Err("boom");
                }
                sleep(Duration::from_millis(50)).await;
                Ok(())
            }
        })
        .await;
        assert_eq!(visited.into_inner(), pick(&ids, &[0, 4, 5]));
        assert!(!report.is_success());
        assert_eq!(report.failed().collect::<Vec<_>>(), vec![(ids[0], &"boom")]);
        assert_eq!(report.skipped().collect::<Vec<_>>(), vec![(ids[1], ids[0]), (ids[2], ids[0]), (ids[3], ids[0])]);
        assert_eq!(report.succeeded().collect::<Vec<_>>(), pick(&ids, &[4, 5]));
        assert_eq!(report.not_started().count(), 0);
    }

    #[tokio::test]
    async fn a_failed_arm_of_a_diamond_skips_the_join_but_not_the_other_arm() {
        let (dag, ids) = graph(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]);
        let report = walk(&dag, WalkOptions::default(), |id| {
            let result = if id == ids[1] { Err(id) } else { Ok(()) };
            async move { result }
        })
        .await;
        let outcomes: Vec<_> = report.into_iter().collect();
        assert_eq!(
            outcomes,
            vec![
                (ids[0], Outcome::Succeeded),
                (ids[1], Outcome::Failed(ids[1])),
                (ids[2], Outcome::Succeeded),
                (ids[3], Outcome::Skipped { because: ids[1] }),
            ]
        );
    }

    #[tokio::test]
    async fn cancelled_before_the_walk_nothing_starts() {
        let (dag, ids) = graph(3, &[(0, 1)]);
        let options = WalkOptions::default();
        options.cancel.cancel();
        let report: WalkReport<()> = walk(&dag, options, |_| async { unreachable!() }).await;
        assert_eq!(report.not_started().collect::<Vec<_>>(), ids);
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_lets_in_flight_visits_finish_and_starts_nothing_new() {
        // Five independent nodes and 5 waiting on 0; two may run at once.
        let (dag, ids) = graph(6, &[(0, 5)]);
        let options = with_parallelism(2);
        let cancel = options.cancel.clone();
        let finished = RefCell::new(Vec::new());
        let report: WalkReport<()> = walk(&dag, options, |id| {
            let (finished, cancel) = (&finished, &cancel);
            let first = id == ids[0];
            async move {
                if first {
                    cancel.cancel();
                    sleep(Duration::from_millis(10)).await;
                } else {
                    sleep(Duration::from_millis(20)).await;
                }
                finished.borrow_mut().push(id);
                Ok(())
            }
        })
        .await;
        assert_eq!(finished.into_inner(), pick(&ids, &[0, 1]));
        assert_eq!(report.succeeded().collect::<Vec<_>>(), pick(&ids, &[0, 1]));
        assert_eq!(report.not_started().collect::<Vec<_>>(), pick(&ids, &[2, 3, 4, 5]));
    }

    #[tokio::test]
    async fn the_reversed_graph_walks_dependents_first() {
        let (dag, ids) = graph(5, &[(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)]);
        let reversed = dag.reversed();
        let (report, log) = walk_logged(&reversed, with_parallelism(1)).await;
        assert!(report.is_success());
        assert_dependencies_finish_first(&reversed, &log);
        let starts: Vec<NodeId> = log
            .into_iter()
            .filter_map(|event| match event {
                Event::Start(id) => Some(id),
                Event::Finish(_) => None,
            })
            .collect();
        assert_eq!(starts, pick(&ids, &[4, 3, 1, 2, 0]));
    }

    #[tokio::test]
    async fn nodes_on_or_behind_a_cycle_are_not_started() {
        // 1 <-> 2 is a cycle and 3 waits on it; 0 is independent.
        let (dag, ids) = graph(4, &[(1, 2), (2, 1), (2, 3)]);
        let (report, _) = walk_logged(&dag, WalkOptions::default()).await;
        assert_eq!(report.succeeded().collect::<Vec<_>>(), pick(&ids, &[0]));
        assert_eq!(report.not_started().collect::<Vec<_>>(), pick(&ids, &[1, 2, 3]));
    }

    #[tokio::test]
    async fn an_empty_graph_walks_successfully() {
        let report: WalkReport<()> = walk(&Dag::<()>::new(), WalkOptions::default(), |_| async { Ok(()) }).await;
        assert!(report.is_success());
        assert_eq!(report.iter().count(), 0);
    }

    #[test]
    fn the_walk_future_is_send_when_its_parts_are() {
        fn assert_send<T: Send>(_: T) {}
        let dag: Dag<String> = Dag::new();
        assert_send(walk(&dag, WalkOptions::default(), |_| async { Ok::<(), String>(()) }));
    }

    /// With one slot, a visit that released it lets an independent node run to its end while
    /// it waits (here, for that very node: without the release the walk could never finish),
    /// and its own dependent still starts only after it ends.
    #[tokio::test]
    async fn a_released_slot_lets_another_visit_start_while_dependents_still_wait() {
        // 0 waits for 1 to finish after releasing its slot; 2 depends on 0.
        let (dag, ids) = graph(3, &[(0, 2)]);
        let one_done = tokio::sync::Notify::new();
        let log = RefCell::new(Vec::new());
        let report = walk_releasing(&dag, with_parallelism(1), |id, slot| {
            let (log, one_done, ids) = (&log, &one_done, &ids);
            async move {
                log.borrow_mut().push(Event::Start(id));
                if id == ids[0] {
                    slot.release();
                    one_done.notified().await;
                } else if id == ids[1] {
                    one_done.notify_one();
                }
                log.borrow_mut().push(Event::Finish(id));
                Ok::<(), ()>(())
            }
        })
        .await;
        assert!(report.is_success());
        let log = log.into_inner();
        assert_dependencies_finish_first(&dag, &log);
        assert_eq!(
            log,
            vec![
                Event::Start(ids[0]),
                Event::Start(ids[1]),
                Event::Finish(ids[1]),
                Event::Finish(ids[0]),
                Event::Start(ids[2]),
                Event::Finish(ids[2]),
            ]
        );
    }

    /// Visits that keep their slot are still bounded by the parallelism.
    #[tokio::test]
    async fn visits_holding_their_slot_stay_within_the_parallelism() {
        let (dag, _) = graph(12, &[]);
        let (now, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let report = walk_releasing(&dag, with_parallelism(3), |id, slot| {
            let (now, peak) = (&now, &peak);
            async move {
                let holding = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(holding, Ordering::SeqCst);
                tokio::task::yield_now().await;
                now.fetch_sub(1, Ordering::SeqCst);
                // Half of them release once done holding: they must not count any more.
                if id.index() % 2 == 0 {
                    slot.release();
                    tokio::task::yield_now().await;
                }
                Ok::<(), ()>(())
            }
        })
        .await;
        assert!(report.is_success());
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    /// Visits that never wait do not hold the task for the whole walk: what runs beside the
    /// walk in the same task (the apply's state writer) gets a turn every `TURN` visits.
    #[tokio::test]
    async fn a_walk_of_visits_that_never_wait_lets_the_rest_of_its_task_run() {
        let visits = 10 * TURN;
        let (dag, _) = graph(visits, &[]);
        let (done, turns) = (AtomicBool::new(false), AtomicUsize::new(0));
        let walk = async {
            let report = walk_releasing(&dag, with_parallelism(4), |_, _| async { Ok::<(), ()>(()) }).await;
            done.store(true, Ordering::SeqCst);
            report
        };
        let beside = std::future::poll_fn(|cx| {
            if done.load(Ordering::SeqCst) {
                return std::task::Poll::Ready(());
            }
            turns.fetch_add(1, Ordering::SeqCst);
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        });
        let (report, ()) = tokio::join!(biased; walk, beside);
        assert!(report.is_success());
        assert!(turns.load(Ordering::SeqCst) >= visits / TURN, "{} turns", turns.load(Ordering::SeqCst));
    }
}
