//! The process' allocator: mimalloc, counting each thread's allocations, so a jq program that
//! allocates past its memory limit is stopped (see `vigil_core::memory`). mimalloc over glibc's
//! malloc: a third less CPU per pushed alert and less memory kept by fragmentation
//! (`docs/benchmarks.md`).
//!
//! mimalloc returns memory freed 10 ms ago to the OS by default. Under a steady stream of
//! requests the same memory is then given back and faulted in again, each fault zeroing a page
//! (2 MB with transparent huge pages): 17 % of the CPU while `vigil bench alertmanager` loads
//! alerts. Kept for a second, it is reused instead.
//!
//! mimalloc also asks the kernel for transparent huge pages on its memory. vigil's memory is
//! mostly many small long-lived records (a monitor's definition, source, schedule entry and
//! series), spread over the heap's pages; a huge page is resident whole as soon as one byte of it
//! is used. Without them, 250,000 HTTP monitors took 464 MB of RSS where they took 495, and
//! 10,000 took 66 MB where they took 105, for the same CPU per check (`docs/benchmarks.md`).
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

/// `mi_option_allow_thp` in mimalloc 3.x's `mi_option_e` (libmimalloc-sys builds 3.x unless its
/// `v2` feature is on): whether mimalloc asks for transparent huge pages (`madvise(MADV_HUGEPAGE)`)
/// on the memory it maps.
const ALLOW_THP: c_int = 43;

/// `prctl`'s `PR_SET_THP_DISABLE` and `PR_GET_THP_DISABLE` (`linux/prctl.h`).
#[cfg(target_os = "linux")]
const PR_SET_THP_DISABLE: c_int = 41;
#[cfg(all(target_os = "linux", test))]
const PR_GET_THP_DISABLE: c_int = 42;

unsafe extern "C" {
    fn mi_option_get(option: c_int) -> c_long;
    fn mi_option_set(option: c_int, value: c_long);
    fn mi_collect(force: bool);
    #[cfg(target_os = "linux")]
    fn prctl(option: c_int, ...) -> c_int;
}

/// Has mimalloc return the calling thread's freed memory to the operating system now (its heaps
/// hold what `malloc_trim` never sees); `vigil_core::memory::give_back` calls it after loading.
pub fn collect() {
    // SAFETY: mi_collect takes no pointers; it frees only what the calling thread's heap no longer
    // uses, and may be called from any thread at any time.
    unsafe { mi_collect(true) }
}

/// Keeps freed memory for [`PURGE_DELAY_MS`] unless `MIMALLOC_PURGE_DELAY` says otherwise, and
/// turns transparent huge pages off unless `MIMALLOC_ALLOW_THP` says otherwise. Call first in
/// `main`, before any other thread starts: mimalloc's options are not thread safe.
pub fn tune() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: both functions only read or write mimalloc's option table, and no other thread
        // runs yet; the option is changed only while it holds its documented default.
        unsafe {
            if mi_option_get(PURGE_DELAY) == PURGE_DELAY_DEFAULT {
                mi_option_set(PURGE_DELAY, PURGE_DELAY_MS);
            }
        }
    }
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        no_huge_pages();
    }
}

/// No transparent huge pages for this process: mimalloc stops asking for them, and the kernel
/// stops giving them (also where the system gives them to every process, and to the memory
/// mimalloc mapped before `main`). Children inherit the setting; [`huge_pages_as_the_system_says`]
/// undoes it for one.
fn no_huge_pages() {
    // SAFETY: reads and writes mimalloc's option table before any other thread runs; the option
    // is changed only while it holds its documented default (1).
    unsafe {
        if mi_option_get(ALLOW_THP) == 1 {
            mi_option_set(ALLOW_THP, 0);
        }
    }
    // SAFETY: PR_SET_THP_DISABLE takes integers only and changes a flag of this process.
    #[cfg(target_os = "linux")]
    unsafe {
        thp_flag(PR_SET_THP_DISABLE, 1);
    }
}

/// `prctl(option, value, 0, 0, 0)`: the huge-page flag's calls, which take integers only.
#[cfg(target_os = "linux")]
unsafe fn thp_flag(option: c_int, value: std::ffi::c_ulong) -> c_int {
    let zero: std::ffi::c_ulong = 0;
    // SAFETY: the caller passes a `PR_*_THP_DISABLE` option; prctl reads only these integers.
    unsafe { prctl(option, value, zero, zero, zero) }
}

/// Has `command`'s process use transparent huge pages as the system says, not as vigil does (a
/// benchmark's peer is measured as it runs on its own).
pub fn huge_pages_as_the_system_says(command: &mut std::process::Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the child between fork and exec and only calls prctl,
        // which is async-signal-safe and takes integers only.
        unsafe {
            command.pre_exec(|| {
                thp_flag(PR_SET_THP_DISABLE, 0);
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
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

    #[cfg(target_os = "linux")]
    #[test]
    fn huge_pages_are_off_here_and_as_the_system_says_in_a_peer() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            return;
        }
        tune();
        // SAFETY: reads a flag of this process, and mimalloc's option table.
        let (flag, option) = unsafe { (thp_flag(PR_GET_THP_DISABLE, 0), mi_option_get(ALLOW_THP)) };
        assert_eq!((flag, option), (1, 0), "the kernel's flag and mimalloc's option");
        if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage").exists() {
            // A kernel without huge pages shows `THP_enabled: 0` for every process.
            eprintln!("skipped: this kernel has no transparent huge pages");
            return;
        }
        let status = |command: &mut std::process::Command| {
            let out = command.args(["THP_enabled", "/proc/self/status"]).output().expect("grep runs");
            String::from_utf8_lossy(&out.stdout).split_whitespace().last().unwrap_or_default().to_string()
        };
        assert_eq!(status(&mut std::process::Command::new("grep")), "0", "a child inherits the flag");
        let mut peer = std::process::Command::new("grep");
        huge_pages_as_the_system_says(&mut peer);
        assert_eq!(status(&mut peer), "1", "a peer runs as the system says");
    }
}
