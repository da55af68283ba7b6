//! The budget of one jq evaluation: time, steps, memory and stack.
//!
//! jaq has no fuel of its own, but every filter it evaluates first asks its context for the
//! program's lookup table. [`Guarded`] is the context type whose lookup-table accessor is
//! [`step`]: it counts the step, and when the evaluation is past its deadline, holds more memory
//! than allowed (per [`crate::memory`]), or is about to run out of stack, it unwinds with an
//! [`Abort`] that [`super::JqFilter::run`] catches. Everything the evaluation allocated is freed
//! on the way out, and the thread goes back to its work. Native filters that produce many values
//! without evaluating a filter per value (`range`) call [`step`] per value themselves.

use std::cell::Cell;
use std::sync::Once;
use std::time::{Duration, Instant};

use jaq_core::Lut;
use jaq_core::data::{DataT, HasLut};
use jaq_json::Val;

/// The jaq data kind of vigil's jq programs: JSON values, with a guarded lookup table.
pub struct Guarded;

impl DataT for Guarded {
    type V<'a> = Val;
    type Data<'a> = GuardedLut<'a>;
}

/// The lookup table handed to jaq; reading it costs one step of the budget.
#[derive(Clone)]
pub struct GuardedLut<'a>(pub &'a Lut<Guarded>);

impl<'a> HasLut<'a, Guarded> for GuardedLut<'a> {
    fn lut(&self) -> &'a Lut<Guarded> {
        step();
        self.0
    }
}

/// Why an evaluation was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abort {
    /// Past the time limit.
    Timeout(Duration),
    /// Held more than this many bytes.
    Memory(usize),
    /// Recursed deeper than the stack allows.
    Depth,
    /// Panicked inside the jq engine for another reason.
    Internal,
}

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Abort::Timeout(limit) => write!(f, "jq program ran longer than the {limit:?} limit and was stopped"),
            Abort::Memory(limit) => {
                write!(f, "jq program used more than {} MiB of memory and was stopped", limit >> 20)
            }
            Abort::Depth => f.write_str("jq program recursed too deeply and was stopped"),
            Abort::Internal => f.write_str("jq program failed inside the jq engine and was stopped"),
        }
    }
}

/// Stack a jq evaluation may use beyond where it started (fits a default 2 MiB thread).
pub const STACK_BUDGET: usize = 1 << 20;
/// The stack size of threads that run jq. jaq drops, compares and prints values recursively, and
/// the memory limit allows nesting about one level per 100 bytes (a 64 MiB limit: ~650,000
/// levels at up to ~200 bytes of stack each). The stack is reserved address space; only what a
/// deep value touches becomes resident.
pub const MIN_THREAD_STACK: usize = 256 << 20;

/// How often (in steps) the clock is read.
const CLOCK_EVERY: u32 = 1024;

struct Budget {
    active: Cell<bool>,
    steps: Cell<u32>,
    deadline: Cell<Instant>,
    limit: Cell<Duration>,
    memory_start: Cell<isize>,
    memory_limit: Cell<usize>,
    stack_start: Cell<usize>,
}

thread_local! {
    static BUDGET: Budget = Budget {
        active: Cell::new(false),
        steps: Cell::new(0),
        deadline: Cell::new(Instant::now()),
        limit: Cell::new(Duration::ZERO),
        memory_start: Cell::new(0),
        memory_limit: Cell::new(usize::MAX),
        stack_start: Cell::new(0),
    };
}

fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Runs `f` under a budget of `time` and `memory` bytes; an exhausted budget ends it with `Err`.
/// Other panics inside `f` (a bug in jaq, say) become `Err` too, as an internal error.
pub fn with_budget<T>(time: Duration, memory: usize, f: impl FnOnce() -> T) -> Result<T, Abort> {
    install_quiet_hook();
    BUDGET.with(|b| {
        b.active.set(true);
        b.steps.set(0);
        b.limit.set(time);
        b.deadline.set(Instant::now() + time);
        b.memory_start.set(crate::memory::thread_balance());
        b.memory_limit.set(memory);
        b.stack_start.set(stack_position());
    });
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    BUDGET.with(|b| b.active.set(false));
    result.map_err(|payload| payload.downcast_ref::<Abort>().copied().unwrap_or(Abort::Internal))
}

/// One step of the running evaluation; unwinds with [`Abort`] when the budget is spent.
pub fn step() {
    let abort = BUDGET.with(|b| {
        if !b.active.get() {
            return None;
        }
        let held = crate::memory::thread_balance().wrapping_sub(b.memory_start.get());
        if held > 0 && held as usize > b.memory_limit.get() {
            return Some(Abort::Memory(b.memory_limit.get()));
        }
        if b.stack_start.get().abs_diff(stack_position()) > STACK_BUDGET {
            return Some(Abort::Depth);
        }
        let steps = b.steps.get().wrapping_add(1);
        b.steps.set(steps);
        if steps % CLOCK_EVERY == 0 && Instant::now() > b.deadline.get() {
            return Some(Abort::Timeout(b.limit.get()));
        }
        None
    });
    if let Some(abort) = abort {
        // Deactivate first: unwinding drops values, and nothing may abort twice.
        BUDGET.with(|b| b.active.set(false));
        std::panic::panic_any(abort);
    }
}

/// Keeps the panic hook from printing a backtrace for a budget abort (an expected outcome);
/// every other panic is reported by the hook that was installed before.
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Abort>().is_none() {
                previous(info);
            }
        }));
    });
}
