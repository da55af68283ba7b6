//! Work on threads, results in order: the config loader parses files on several threads (YAML
//! parsing is most of a load's time) and builds definitions from them one file at a time, in the
//! files' order, on the calling thread.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// How many results may wait for the calling thread; with the busy threads, this bounds how many
/// files' parsed values are held at once.
const WAITING: usize = 4;

/// Runs `work` on every item on up to `threads` threads and hands each result to `each` on the
/// calling thread, in the items' order. With one thread or one item, everything runs on the
/// calling thread.
///
/// What `each` returns (the result's leftovers: the parsed values it has built from) goes back
/// to the thread that produced the result and is dropped there. Freed by the calling thread, each
/// of those many small blocks took the producing thread's allocator lock while that thread was
/// allocating the next file's values: the threads waited on each other, and a load of 100,000
/// schedules spent about a fifth of its time in the lock. Memory allocated on the worker threads
/// is still all freed when they end, so their allocator heaps can be given back whole
/// ([`crate::memory::give_back`]) instead of holding the kept definitions among freed pages.
pub fn map_in_order<T: Sync, R: Send, L: Send>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T) -> R + Sync,
    mut each: impl FnMut(usize, R) -> L,
) {
    let threads = threads.min(items.len());
    if threads <= 1 {
        for (i, item) in items.iter().enumerate() {
            drop(each(i, work(item)));
        }
        return;
    }
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::sync_channel::<(usize, usize, R)>(WAITING);
    std::thread::scope(|scope| {
        let mut leftovers = Vec::with_capacity(threads);
        for worker in 0..threads {
            let (tx, next, work) = (tx.clone(), &next, &work);
            let (give, taken) = mpsc::channel::<L>();
            leftovers.push(give);
            scope.spawn(move || {
                loop {
                    // Leftovers are dropped between items, and once the last item is done,
                    // until the calling thread has no more to give back.
                    while let Ok(left) = taken.try_recv() {
                        drop(left);
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    if tx.send((i, worker, work(item))).is_err() {
                        return;
                    }
                }
                drop(tx);
                for left in taken {
                    drop(left);
                }
            });
        }
        drop(tx);
        let mut early: BTreeMap<usize, (usize, R)> = BTreeMap::new();
        for want in 0..items.len() {
            let (worker, result) = loop {
                if let Some(r) = early.remove(&want) {
                    break r;
                }
                let Ok((i, worker, r)) = rx.recv() else { return };
                if i == want {
                    break (worker, r);
                }
                early.insert(i, (worker, r));
            };
            let left = each(want, result);
            let _ = leftovers[worker].send(left);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_arrive_in_order_whatever_order_they_finish_in() {
        let items: Vec<u64> = (0..50).collect();
        for threads in [1, 2, 4, 64] {
            let mut seen = Vec::new();
            map_in_order(
                &items,
                threads,
                |&n| {
                    // Early items take longest, so later ones finish first.
                    std::thread::sleep(std::time::Duration::from_micros((50 - n) * 20));
                    (n, std::thread::current().id())
                },
                |i, (n, _)| {
                    assert_eq!(i as u64, n);
                    seen.push(n);
                },
            );
            assert_eq!(seen, items, "{threads} threads");
        }
    }

    #[test]
    fn several_threads_do_the_work() {
        let items: Vec<u64> = (0..20).collect();
        let mut threads = std::collections::HashSet::new();
        // Items 0 and 1 wait for each other, so two threads must hold them at once.
        let both = std::sync::Barrier::new(2);
        map_in_order(
            &items,
            2,
            |&n| {
                if n < 2 {
                    both.wait();
                }
                std::thread::current().id()
            },
            |_, id| {
                threads.insert(id);
            },
        );
        assert!(!threads.contains(&std::thread::current().id()), "the work ran on the calling thread");
        assert_eq!(threads.len(), 2);
    }

    #[test]
    fn leftovers_are_dropped_on_the_thread_that_made_them() {
        use std::sync::Mutex;
        use std::thread::ThreadId;
        /// Records, when dropped, the thread it was made on and the one dropping it.
        struct Left<'a>(ThreadId, &'a Mutex<Vec<(ThreadId, ThreadId)>>);
        impl Drop for Left<'_> {
            fn drop(&mut self) {
                self.1.lock().unwrap().push((self.0, std::thread::current().id()));
            }
        }
        let drops = Mutex::new(Vec::new());
        let items: Vec<u64> = (0..40).collect();
        map_in_order(&items, 3, |_| std::thread::current().id(), |_, made| Left(made, &drops));
        let drops = drops.into_inner().unwrap();
        assert_eq!(drops.len(), items.len(), "every leftover is dropped before the call returns");
        for (made, dropped) in drops {
            assert_eq!(made, dropped);
            assert_ne!(dropped, std::thread::current().id());
        }
    }

    #[test]
    fn nothing_to_do_is_fine() {
        map_in_order(&[] as &[u8], 4, |_| 0, |_, _: i32| panic!("no items, no results"));
    }
}
