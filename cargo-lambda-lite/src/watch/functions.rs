//! The functions `watch` serves, and how each scales as Lambda scales it: an invocation goes to
//! an environment with room for it (one invocation per environment, or up to
//! `AWS_LAMBDA_MAX_CONCURRENCY` on Managed Instances); when every environment is full a new
//! one starts (a cold start of its own), up to the function's limit; past it the invocation
//! is throttled. A new build makes a new generation: idle environments of the old one shut
//! down at once, busy ones when their invocations are done, and new invocations only go to
//! the new one. An environment idle for the idle limit is shut down, as Lambda retires idle
//! environments, so memory returns to what the tool needs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, Instant};

use crate::environment::{Config, Ended, Environment, Invocation};

/// Why an invocation was not taken.
pub enum Refused {
    /// Every environment is full and the function is at its limit.
    Throttled(Invocation),
    /// No environment could be started.
    Failed(String),
}

pub struct Function {
    /// The most environments it runs at once (its reserved concurrency).
    limit: usize,
    /// How long an environment may sit idle before it is retired (`None`: never).
    idle_limit: Option<Duration>,
    state: Mutex<State>,
}

struct State {
    config: Arc<Config>,
    generation: u64,
    slots: Vec<Slot>,
    next_id: u64,
}

struct Slot {
    id: u64,
    generation: u64,
    /// Invocations given to it and not done.
    busy: usize,
    /// Of those, the ones already answered (their environment busy until their REPORT line).
    answered: usize,
    /// Since when it has had none (when `busy` is 0).
    idle_since: Instant,
    environment: Environment,
}

/// Where an invocation goes.
#[derive(Debug, PartialEq, Eq)]
enum Placement {
    /// Into the environment at this index, which has room (or is finishing an answered
    /// invocation and takes this one when its runtime asks).
    Into(usize),
    /// Into a new environment (a cold start).
    New,
    /// Nowhere: every environment is full and the function is at its limit.
    Throttled,
}

/// Lambda's placement: the fullest environment of the current generation with room (Managed
/// Instances pack one process before starting another), else a new one while the function is
/// under its limit. At the limit, an environment whose invocation was already answered takes
/// the call next (its caller may call again the moment it has its answer, before the REPORT
/// line: that is no throttle); else it is throttled. `slots`: each environment's generation,
/// invocations in progress and, of those, answered; `room`: invocations one environment takes
/// at once.
fn place(slots: &[(u64, usize, usize)], generation: u64, room: usize, limit: usize) -> Placement {
    let current = || slots.iter().enumerate().filter(|(_, s)| s.0 == generation);
    let fullest_with_room = current()
        .filter(|(_, s)| s.1 < room)
        .max_by_key(|(_, s)| s.1);
    let finishing = current()
        .filter(|(_, s)| s.1.saturating_sub(s.2) < room)
        .max_by_key(|(_, s)| s.2);
    match (fullest_with_room, finishing) {
        (Some((i, _)), _) => Placement::Into(i),
        _ if current().count() < limit => Placement::New,
        (None, Some((i, _))) => Placement::Into(i),
        (None, None) => Placement::Throttled,
    }
}

/// Whether an environment with `busy` invocations, idle since `idle_since`, is retired at `now`.
fn retired(busy: usize, idle_since: Instant, now: Instant, idle_limit: Option<Duration>) -> bool {
    let retire_at = idle_limit.and_then(|limit| idle_since.checked_add(limit));
    busy == 0 && retire_at.is_some_and(|at| now >= at)
}

impl Function {
    pub fn new(config: Config, limit: usize, idle_limit: Option<Duration>) -> Arc<Function> {
        Arc::new(Function {
            limit: limit.max(1),
            idle_limit,
            state: Mutex::new(State {
                config: Arc::new(config),
                generation: 0,
                slots: Vec::new(),
                next_id: 0,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Gives the invocation to an environment with room, or to a new one.
    pub fn invoke(self: &Arc<Self>, invocation: Invocation) -> Result<(), Refused> {
        let mut st = self.lock();
        let room = st.config.concurrency();
        let shape: Vec<(u64, usize, usize)> = (st.slots.iter())
            .map(|s| (s.generation, s.busy, s.answered))
            .collect();
        match place(&shape, st.generation, room, self.limit) {
            Placement::Into(i) => {
                let slot = &mut st.slots[i];
                slot.busy += 1;
                slot.environment.invoke(invocation);
                return Ok(());
            }
            Placement::Throttled => return Err(Refused::Throttled(invocation)),
            Placement::New => {}
        }
        let generation = st.generation;
        let id = st.next_id;
        st.next_id += 1;
        let function: Weak<Function> = Arc::downgrade(self);
        let environment = Environment::start(
            st.config.clone(),
            Box::new(move |ended| {
                if let Some(f) = function.upgrade() {
                    f.ended(id, ended);
                }
            }),
        )
        .map_err(|e| Refused::Failed(format!("cannot start an environment: {e}")))?;
        environment.invoke(invocation);
        st.slots.push(Slot {
            id,
            generation,
            busy: 1,
            answered: 0,
            idle_since: Instant::now(),
            environment,
        });
        Ok(())
    }

    /// An invocation of environment `id` was answered, or is done (called on its thread).
    fn ended(&self, id: u64, ended: Ended) {
        let mut st = self.lock();
        let generation = st.generation;
        if let Some(i) = st.slots.iter().position(|s| s.id == id) {
            let slot = &mut st.slots[i];
            if ended == Ended::Answered {
                slot.answered += 1;
                return;
            }
            slot.busy = slot.busy.saturating_sub(1);
            slot.answered = slot.answered.saturating_sub(1);
            slot.idle_since = Instant::now();
            if slot.generation != generation && slot.busy == 0 {
                st.slots.remove(i).environment.retire();
            }
        }
    }

    /// A new build: new invocations start environments from `config`. The old generation's
    /// idle environments are shut down before this returns (outside the lock: invocations
    /// are not held up meanwhile); busy ones finish what they were given first.
    pub fn reload(&self, config: Config) {
        let idle = {
            let mut st = self.lock();
            st.generation += 1;
            st.config = Arc::new(config);
            let generation = st.generation;
            let (idle, keep): (Vec<Slot>, Vec<Slot>) = std::mem::take(&mut st.slots)
                .into_iter()
                .partition(|s| s.generation != generation && s.busy == 0);
            st.slots = keep;
            idle
        };
        for slot in idle {
            slot.environment.shut_down();
        }
    }

    /// Retires the environments idle for the idle limit at `now` (without waiting for them
    /// to end); how many.
    fn retire_idle(&self, now: Instant) -> usize {
        let mut st = self.lock();
        let (old, keep): (Vec<Slot>, Vec<Slot>) = std::mem::take(&mut st.slots)
            .into_iter()
            .partition(|s| retired(s.busy, s.idle_since, now, self.idle_limit));
        st.slots = keep;
        drop(st);
        let n = old.len();
        for slot in old {
            slot.environment.retire();
        }
        n
    }

    /// Ends every environment (after what each was given), as Lambda's shutdown does.
    pub fn shut_down(&self) {
        let slots = std::mem::take(&mut self.lock().slots);
        for slot in slots {
            slot.environment.shut_down();
        }
    }
}

/// Every function served, by name.
pub struct Functions {
    by_name: RwLock<BTreeMap<String, Arc<Function>>>,
    /// Each function's idle limit.
    idle_limit: Option<Duration>,
}

impl Functions {
    pub fn new(idle_limit: Option<Duration>) -> Functions {
        Functions {
            by_name: RwLock::default(),
            idle_limit,
        }
    }

    /// Retires every function's idle environments, now and then, while `watch` runs: a
    /// thread that wakes a few times per idle limit (never, without one).
    pub fn retire_idle_environments(self: &Arc<Self>) {
        let Some(limit) = self.idle_limit else { return };
        let tick = (limit / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
        let functions = Arc::downgrade(self);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(tick);
                let Some(functions) = functions.upgrade() else {
                    return;
                };
                let now = Instant::now();
                let all: Vec<_> = (functions.by_name.read())
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .map(|(n, f)| (n.clone(), f.clone()))
                    .collect();
                for (name, f) in all {
                    let n = f.retire_idle(now);
                    if n > 0 {
                        println!(
                            "[{name}] {n} environment(s) idle for {} s retired, as Lambda retires idle ones; the next invocation starts a fresh one",
                            limit.as_secs_f64()
                        );
                    }
                }
            }
        });
    }

    pub fn get(&self, name: &str) -> Option<Arc<Function>> {
        self.by_name
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    pub fn names(&self) -> Vec<String> {
        self.by_name
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Serves these builds: new functions are added, existing ones reloaded, and functions
    /// no longer built shut down.
    pub fn update(&self, configs: Vec<Config>, limit: usize) {
        let mut gone = {
            let map = self.by_name.read().unwrap_or_else(|e| e.into_inner());
            map.clone()
        };
        for config in configs {
            match gone.remove(&config.name) {
                Some(f) => f.reload(config),
                None => {
                    let name = config.name.clone();
                    self.by_name
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(name, Function::new(config, limit, self.idle_limit));
                }
            }
        }
        for (name, f) in gone {
            self.by_name
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&name);
            f.shut_down();
        }
    }

    pub fn shut_down(&self) {
        let all: Vec<_> =
            std::mem::take(&mut *self.by_name.write().unwrap_or_else(|e| e.into_inner()))
                .into_values()
                .collect();
        for f in all {
            f.shut_down();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Placement, place, retired};
    use std::time::{Duration, Instant};

    #[test]
    fn one_invocation_per_environment_scales_out_to_the_limit_then_throttles() {
        assert_eq!(
            place(&[], 0, 1, 2),
            Placement::New,
            "the first is a cold start"
        );
        assert_eq!(
            place(&[(0, 1, 0)], 0, 1, 2),
            Placement::New,
            "busy: another environment"
        );
        assert_eq!(
            place(&[(0, 1, 0), (0, 1, 0)], 0, 1, 2),
            Placement::Throttled
        );
        assert_eq!(
            place(&[(0, 1, 0), (0, 0, 0)], 0, 1, 2),
            Placement::Into(1),
            "a warm one is reused"
        );
    }

    #[test]
    fn at_the_limit_an_answered_environment_takes_the_next_call_instead_of_a_throttle() {
        // Its caller calls again the moment it has its answer, before the REPORT line.
        assert_eq!(place(&[(0, 1, 0), (0, 1, 1)], 0, 1, 2), Placement::Into(1));
        // Under the limit, a new environment, as Lambda starts one.
        assert_eq!(place(&[(0, 1, 1)], 0, 1, 2), Placement::New);
        // Managed Instances: a process with a worker answered takes it.
        assert_eq!(place(&[(0, 4, 1)], 0, 4, 1), Placement::Into(0));
        assert_eq!(place(&[(0, 4, 0)], 0, 4, 1), Placement::Throttled);
        // Only the current build's environments.
        assert_eq!(
            place(&[(0, 1, 1), (1, 1, 0)], 1, 1, 1),
            Placement::Throttled
        );
    }

    #[test]
    fn managed_instances_pack_the_fullest_process_first() {
        // 4 invocations at once per process.
        assert_eq!(
            place(&[(0, 1, 0), (0, 3, 0), (0, 0, 0)], 0, 4, 3),
            Placement::Into(1)
        );
        assert_eq!(place(&[(0, 4, 0), (0, 2, 0)], 0, 4, 3), Placement::Into(1));
        assert_eq!(
            place(&[(0, 4, 0)], 0, 4, 1),
            Placement::Throttled,
            "N+1st at once: 429"
        );
    }

    #[test]
    fn an_old_build_takes_nothing_new_and_does_not_count_against_the_limit() {
        assert_eq!(place(&[(0, 0, 0)], 1, 1, 1), Placement::New);
        assert_eq!(place(&[(0, 1, 0), (1, 0, 0)], 1, 1, 1), Placement::Into(1));
        assert_eq!(
            place(&[(0, 0, 0), (1, 1, 0)], 1, 1, 1),
            Placement::Throttled
        );
    }

    #[test]
    fn idle_environments_are_retired_after_the_idle_limit_busy_ones_never() {
        let t = Instant::now();
        let limit = Some(Duration::from_secs(300));
        assert!(!retired(0, t, t + Duration::from_secs(299), limit));
        assert!(retired(0, t, t + Duration::from_secs(300), limit));
        assert!(!retired(1, t, t + Duration::from_secs(3000), limit), "busy");
        assert!(
            !retired(0, t, t + Duration::from_secs(3000), None),
            "no limit: never"
        );
        // A limit too large for the clock is never reached, never a panic.
        assert!(!retired(
            0,
            t,
            t + Duration::from_secs(3000),
            Some(Duration::MAX)
        ));
    }
}
