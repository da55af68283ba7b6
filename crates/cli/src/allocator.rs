//! The process' allocator: mimalloc, counting each thread's allocations, so a jq program that
//! allocates past its memory limit is stopped (see `vigil_core::memory`). mimalloc over glibc's
//! malloc: a third less CPU per pushed alert and less memory kept by fragmentation
//! (`docs/benchmarks.md`).
//!
//! mimalloc returns memory freed 10 ms ago to the OS by default. Under a steady stream of
//! requests the same memory is then given back and faulted in again, each fault zeroing a page
//! (2 MB with transparent huge pages): 17 % of the CPU while `vigil bench alertmanager` loads
//! alerts. Kept for a second, it is reused instead.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_long};

#[global_allocator]
static ALLOCATOR: vigil_core::memory::CountingAllocator<mimalloc::MiMalloc> =
    vigil_core::memory::CountingAllocator(mimalloc::MiMalloc);

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (2.x and 3.x); libmimalloc-sys names no
/// constant for it.
const PURGE_DELAY: c_int = 15;

/// mimalloc's own default for it (ms): read back first, so another option is never changed.
const PURGE_DELAY_DEFAULT: c_long = 10;

/// How long freed memory stays mapped for reuse (ms).
const PURGE_DELAY_MS: c_long = 1_000;

unsafe extern "C" {
    fn mi_option_get(option: c_int) -> c_long;
    fn mi_option_set(option: c_int, value: c_long);
    fn mi_collect(force: bool);
}

/// Has mimalloc return the calling thread's freed memory to the operating system now (its heaps
/// hold what `malloc_trim` never sees); `vigil_core::memory::give_back` calls it after loading.
pub fn collect() {
    // SAFETY: mi_collect takes no pointers; it frees only what the calling thread's heap no longer
    // uses, and may be called from any thread at any time.
    unsafe { mi_collect(true) }
}

/// Keeps freed memory for [`PURGE_DELAY_MS`] unless `MIMALLOC_PURGE_DELAY` says otherwise. Call
/// first in `main`, before any other thread starts: mimalloc's options are not thread safe.
pub fn tune() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: both functions only read or write mimalloc's option table, and no other thread
    // runs yet; the option is changed only while it holds its documented default.
    unsafe {
        if mi_option_get(PURGE_DELAY) == PURGE_DELAY_DEFAULT {
            mi_option_set(PURGE_DELAY, PURGE_DELAY_MS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_is_the_option_changed() {
        tune();
        // SAFETY: reads mimalloc's option table.
        let now = unsafe { mi_option_get(PURGE_DELAY) };
        assert!(now == PURGE_DELAY_MS || std::env::var_os("MIMALLOC_PURGE_DELAY").is_some(), "{now}");
    }
}
