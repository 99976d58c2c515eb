//! The functions `watch` serves, and how each scales as Lambda scales it: an invocation goes to
//! an environment with room for it (one invocation per environment, or up to
//! `AWS_LAMBDA_MAX_CONCURRENCY` on Managed Instances); when every environment is full a new
//! one starts (a cold start of its own), up to the function's limit; past it the invocation
//! is throttled. A new build makes a new generation: idle environments of the old one shut
//! down at once, busy ones when their invocations are done, and new invocations only go to
//! the new one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

use crate::environment::{Config, Environment, Invocation};

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
    environment: Environment,
}

impl Function {
    pub fn new(config: Config, limit: usize) -> Arc<Function> {
        Arc::new(Function {
            limit: limit.max(1),
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
        let generation = st.generation;
        // The fullest environment with room: Managed Instances pack one process first.
        if let Some(slot) = st
            .slots
            .iter_mut()
            .filter(|s| s.generation == generation && s.busy < room)
            .max_by_key(|s| s.busy)
        {
            slot.busy += 1;
            slot.environment.invoke(invocation);
            return Ok(());
        }
        let current = st
            .slots
            .iter()
            .filter(|s| s.generation == generation)
            .count();
        if current >= self.limit {
            return Err(Refused::Throttled(invocation));
        }
        let id = st.next_id;
        st.next_id += 1;
        let function: Weak<Function> = Arc::downgrade(self);
        let environment = Environment::start(
            st.config.clone(),
            Box::new(move || {
                if let Some(f) = function.upgrade() {
                    f.finished(id);
                }
            }),
        )
        .map_err(|e| Refused::Failed(format!("cannot start an environment: {e}")))?;
        environment.invoke(invocation);
        st.slots.push(Slot {
            id,
            generation,
            busy: 1,
            environment,
        });
        Ok(())
    }

    /// An invocation of environment `id` is done (called on its thread).
    fn finished(&self, id: u64) {
        let mut st = self.lock();
        let generation = st.generation;
        if let Some(i) = st.slots.iter().position(|s| s.id == id) {
            let slot = &mut st.slots[i];
            slot.busy = slot.busy.saturating_sub(1);
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

    /// Ends every environment (after what each was given), as Lambda's shutdown does.
    pub fn shut_down(&self) {
        let slots = std::mem::take(&mut self.lock().slots);
        for slot in slots {
            slot.environment.shut_down();
        }
    }
}

/// Every function served, by name.
#[derive(Default)]
pub struct Functions {
    by_name: RwLock<BTreeMap<String, Arc<Function>>>,
}

impl Functions {
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
                        .insert(name, Function::new(config, limit));
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
