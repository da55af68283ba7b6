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
/// What a result holds is dropped where `each` drops it: on the calling thread. Memory allocated
/// on the worker threads is then all freed when they end, so their allocator heaps can be given
/// back whole ([`crate::memory::give_back`]) instead of holding the kept definitions among freed
/// pages.
pub fn map_in_order<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T) -> R + Sync,
    mut each: impl FnMut(usize, R),
) {
    let threads = threads.min(items.len());
    if threads <= 1 {
        for (i, item) in items.iter().enumerate() {
            each(i, work(item));
        }
        return;
    }
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::sync_channel::<(usize, R)>(WAITING);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (tx, next, work) = (tx.clone(), &next, &work);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { return };
                    if tx.send((i, work(item))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut early: BTreeMap<usize, R> = BTreeMap::new();
        for want in 0..items.len() {
            let result = loop {
                if let Some(r) = early.remove(&want) {
                    break r;
                }
                let Ok((i, r)) = rx.recv() else { return };
                if i == want {
                    break r;
                }
                early.insert(i, r);
            };
            each(want, result);
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
    fn nothing_to_do_is_fine() {
        map_in_order(&[] as &[u8], 4, |_| 0, |_, _: i32| panic!("no items, no results"));
    }
}
