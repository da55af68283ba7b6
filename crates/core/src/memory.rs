//! Per-thread allocation accounting, so a jq program can be stopped when it allocates too much.
//!
//! [`CountingAllocator`] wraps the system allocator and keeps, per thread, the bytes allocated
//! minus the bytes freed. The jq guard reads it before a program runs and after each of its steps:
//! the difference is what the program holds (memory freed by another thread is counted there, which
//! only makes a program look smaller). The `vigil` binary installs it as the global allocator;
//! where it is not installed [`thread_balance`] stays 0 and jq is bounded by time and steps only.
//!
//! [`DeadlineAllocator`] is QuickJS's allocator: it refuses to allocate once the running script is
//! past its deadline. QuickJS checks its interrupt handler only every 10,000 interrupt points, so a
//! script whose every step does heavy native work (`a.push(~new Array(1e6))` joins a million
//! elements per step) would overrun a 2 s limit by a minute; every such step allocates, and a
//! refused allocation ends the script at once (reported as the timeout it is).
//!
//! This is the only `unsafe` code in vigil: a `GlobalAlloc` and a QuickJS allocator must be
//! declared `unsafe`. The counting adds one thread-local addition to each allocation; the deadline
//! one clock read to each script allocation.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static BALANCE: Cell<isize> = const { Cell::new(0) };
}

/// An allocator (the system's by default), counting each thread's allocated bytes.
pub struct CountingAllocator<A = System>(pub A);

/// The counting allocator over the system's.
pub const COUNTING_SYSTEM: CountingAllocator = CountingAllocator(System);

fn add(bytes: isize) {
    // A const thread-local without a destructor is always accessible.
    let _ = BALANCE.try_with(|b| b.set(b.get().wrapping_add(bytes)));
}

// SAFETY: every call is forwarded unchanged to the inner allocator, which upholds the contract;
// the bookkeeping beside it neither allocates nor unwinds.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let ptr = unsafe { self.0.alloc(layout) };
        if !ptr.is_null() {
            add(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let ptr = unsafe { self.0.alloc_zeroed(layout) };
        if !ptr.is_null() {
            add(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by the inner allocator with `layout` (we forward every
        // allocation).
        unsafe { self.0.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from the inner allocator with `layout`; the caller guarantees
        // `new_size`.
        let new = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        new
    }
}

/// Bytes this thread allocated minus bytes it freed, since it started; 0 when the counting
/// allocator is not installed.
pub fn thread_balance() -> isize {
    BALANCE.with(Cell::get)
}

/// Whether the counting allocator is the global allocator of this process.
pub fn is_counting() -> bool {
    let before = thread_balance();
    let probe = std::hint::black_box(vec![0u8; 64]);
    let counted = thread_balance() != before;
    drop(probe);
    counted
}

/// QuickJS's allocator: Rust's, refusing to allocate once `deadline` has passed.
pub struct DeadlineAllocator {
    inner: rquickjs::allocator::RustAllocator,
    deadline: std::rc::Rc<Cell<Option<std::time::Instant>>>,
}

impl DeadlineAllocator {
    /// An allocator that refuses once the instant in `deadline` has passed (never when `None`).
    pub fn new(deadline: std::rc::Rc<Cell<Option<std::time::Instant>>>) -> Self {
        Self { inner: rquickjs::allocator::RustAllocator, deadline }
    }

    fn late(&self) -> bool {
        self.deadline.get().is_some_and(|d| std::time::Instant::now() > d)
    }
}

// SAFETY: every call is forwarded to `RustAllocator`, which upholds the contract; a refusal is a
// null pointer, which QuickJS handles as out of memory.
unsafe impl rquickjs::allocator::Allocator for DeadlineAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if self.late() {
            return std::ptr::null_mut();
        }
        self.inner.alloc(size)
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        if self.late() {
            return std::ptr::null_mut();
        }
        self.inner.calloc(count, size)
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        // SAFETY: `ptr` came from `inner` (every allocation goes through it).
        unsafe { self.inner.dealloc(ptr) }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        if self.late() && new_size > 0 {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from `inner`.
        unsafe { self.inner.realloc(ptr, new_size) }
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        // SAFETY: `ptr` came from `RustAllocator`.
        unsafe { rquickjs::allocator::RustAllocator::usable_size(ptr) }
    }
}

/// How [`give_back`] reaches the process' global allocator, set once by the binary that installs
/// it (the CLI's mimalloc: its heaps hold vigil's memory, which `malloc_trim` never sees).
static COLLECT: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Sets what [`give_back`] calls to have the global allocator return the calling thread's freed
/// memory; a later call changes nothing.
pub fn set_collect(collect: fn()) {
    let _ = COLLECT.set(collect);
}

/// Hands the memory freed by a large one-off job (loading 100,000 definitions parses far more
/// than it keeps) back to the operating system, where the allocator would otherwise keep it for
/// good: the global allocator's own collection (see [`set_collect`]) for the calling thread's
/// heap, then glibc's `malloc_trim` for what C libraries took from glibc (SQLite's caches).
pub fn give_back() {
    if let Some(collect) = COLLECT.get() {
        collect();
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim takes no pointers; it only releases free pages of glibc's heaps.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Bytes the allocator has handed out and not yet had back, over all its heaps and mappings
/// (glibc's `mallinfo2`; `None` elsewhere). Beside the resident size it tells a leak (this grows)
/// from fragmentation (this stays while the resident size grows).
pub fn heap_in_use() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        /// glibc's `struct mallinfo2`: ten `size_t` fields (two are read).
        #[repr(C)]
        #[allow(dead_code)]
        struct MallInfo2 {
            arena: usize,
            ordblks: usize,
            smblks: usize,
            hblks: usize,
            hblkhd: usize,
            usmblks: usize,
            fsmblks: usize,
            uordblks: usize,
            fordblks: usize,
            keepcost: usize,
        }
        unsafe extern "C" {
            fn mallinfo2() -> MallInfo2;
        }
        // SAFETY: mallinfo2 takes nothing and returns a plain struct by value.
        let info = unsafe { mallinfo2() };
        Some((info.uordblks + info.hblkhd) as u64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// `map` rebuilt with room for exactly its entries, nested objects and arrays too. A map filled
/// one insert at a time (as a parser does) keeps room for at least four entries (64 bytes each)
/// and their hash table, several times what a one-field map such as a schedule's `input` needs.
/// For values kept for as long as the process runs (definitions), not for ones passing through.
pub fn shrink_json(map: serde_json::Map<String, serde_json::Value>) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    fn value(v: Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(shrink_json(m)),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(value).collect::<Vec<_>>().into_boxed_slice().into())
            }
            Value::String(s) => Value::String(s.into_boxed_str().into()),
            other => other,
        }
    }
    map.into_iter().map(|(k, v)| (k.into_boxed_str().into(), value(v))).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn giving_back_calls_the_allocator_collection_that_was_set() {
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        fn collect() {
            CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        super::set_collect(collect);
        super::give_back();
        assert!(CALLS.load(std::sync::atomic::Ordering::SeqCst) >= 1, "the collection set was called");
    }

    #[test]
    fn a_shrunk_map_keeps_every_value_in_order() {
        let serde_json::Value::Object(map) =
            serde_json::json!({"z": 1, "a": {"y": [1, "two", {"x": null}], "b": true}, "s": "text"})
        else {
            unreachable!()
        };
        let shrunk = super::shrink_json(map.clone());
        assert_eq!(shrunk, map);
        assert_eq!(shrunk.keys().collect::<Vec<_>>(), ["z", "a", "s"], "order is kept");
        assert_eq!(serde_json::to_string(&shrunk).unwrap(), serde_json::to_string(&map).unwrap());
    }
}
