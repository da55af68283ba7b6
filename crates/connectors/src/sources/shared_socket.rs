//! A datagram socket shared by many checks: one reader hands each datagram to the check waiting
//! for it, by a key read from the datagram (a ping's sequence number, a DNS query's id).
//!
//! A check that opened a socket of its own paid for creating it, registering it with the reactor,
//! and closing it (six system calls and a socket's setup, twice the check's own work). A monitor
//! shard's thread keeps one socket per kind and destination instead ([`share_on_this_thread`]);
//! anywhere else (a workflow's task, `vigil check`) a check still gets a socket of its own, freed
//! when it ends.

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// The receive buffer a shared socket asks for: one socket takes every check's replies, so a
/// burst while the thread is busy must not overflow it (bytes; the kernel caps it at
/// `net.core.rmem_max`).
pub(crate) const RECEIVE_BUFFER: usize = 4 << 20;

thread_local! {
    /// Whether checks on this thread may keep sockets for the thread's lifetime.
    static SHARING: Cell<bool> = const { Cell::new(false) };
}

/// Lets checks on this thread share sockets kept for the thread's lifetime. Only for a thread that
/// runs one tokio runtime for good (a monitor shard's): a kept socket belongs to the runtime that
/// was running when it opened.
pub fn share_on_this_thread() {
    SHARING.with(|s| s.set(true));
}

/// Whether this thread keeps shared sockets ([`share_on_this_thread`]).
pub(crate) fn sharing_here() -> bool {
    SHARING.with(Cell::get)
}

/// What a waiting check hears: what a datagram for it carried, or an error the socket reported
/// (a connected socket's ICMP "port unreachable": the resolver it asks is not listening).
pub(crate) type Heard<M> = Result<M, String>;

/// Where a check hears what comes for its keys.
pub(crate) type Hearing<M> = mpsc::UnboundedReceiver<Heard<M>>;

/// Who waits for which datagram.
type Waiting<K, M> = Arc<Mutex<HashMap<K, mpsc::UnboundedSender<Heard<M>>>>>;

/// A socket, its reader, and the checks waiting on it. Dropping it stops the reader.
pub(crate) struct SharedSocket<K, M> {
    socket: Arc<UdpSocket>,
    waiting: Waiting<K, M>,
    reader: AbortHandle,
}

impl<K: Eq + Hash + Send + 'static, M: Send + 'static> SharedSocket<K, M> {
    /// Starts reading `socket` on the current runtime: `read` turns each datagram (and its
    /// sender) into the key of the check it is for and what that check is told; datagrams it
    /// turns down, or that no check waits for, are dropped.
    pub(crate) fn new(
        socket: UdpSocket,
        read: impl Fn(&[u8], SocketAddr) -> Option<(K, M)> + Send + 'static,
    ) -> SharedSocket<K, M> {
        let socket = Arc::new(socket);
        let waiting: Waiting<K, M> = Arc::default();
        let (from, to) = (socket.clone(), waiting.clone());
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let (n, sender) = match from.recv_from(&mut buf).await {
                    Ok(got) => got,
                    Err(e) => {
                        // An error the socket reported once (an ICMP error for an earlier
                        // datagram), not the socket failing: every check waiting is told, since
                        // all of them sent where it came from on a connected socket.
                        let why = e.to_string();
                        let waiting: Vec<_> =
                            to.lock().expect("the waiting table is never poisoned").values().cloned().collect();
                        for waiter in waiting {
                            let _ = waiter.send(Err(why.clone()));
                        }
                        tokio::task::yield_now().await;
                        continue;
                    }
                };
                let Some((key, message)) = read(&buf[..n], sender) else { continue };
                let waiter = to.lock().expect("the waiting table is never poisoned").get(&key).cloned();
                if let Some(waiter) = waiter {
                    let _ = waiter.send(Ok(message));
                }
            }
        })
        .abort_handle();
        SharedSocket { socket, waiting, reader }
    }

    /// The socket, to send on.
    pub(crate) fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// Waits for the datagrams of the first `count` keys `next_key` proposes that no other check
    /// holds (tried at most `count` + 1,000 times): what they carry arrives on the receiver, and
    /// the keys are given back when the returned [`Claim`] drops. `None` when no free keys were found.
    pub(crate) fn claim(
        self: &Arc<Self>,
        count: usize,
        mut next_key: impl FnMut() -> K,
    ) -> Option<(Claim<K, M>, Hearing<M>)>
    where
        K: Clone,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut keys = Vec::with_capacity(count);
        let mut waiting = self.waiting.lock().expect("the waiting table is never poisoned");
        for _ in 0..count + 1_000 {
            if keys.len() == count {
                break;
            }
            let key = next_key();
            if let std::collections::hash_map::Entry::Vacant(free) = waiting.entry(key.clone()) {
                free.insert(tx.clone());
                keys.push(key);
            }
        }
        let claim = Claim { shared: self.clone(), keys };
        drop(waiting);
        (claim.keys.len() == count).then_some((claim, rx))
    }

    /// How many keys are claimed (for tests).
    #[cfg(test)]
    pub(crate) fn claimed(&self) -> usize {
        self.waiting.lock().expect("the waiting table is never poisoned").len()
    }
}

impl<K, M> Drop for SharedSocket<K, M> {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Keys a check waits on; given back when it drops (the check ended, or was cancelled).
pub(crate) struct Claim<K: Eq + Hash, M> {
    shared: Arc<SharedSocket<K, M>>,
    /// The keys, in the order they were asked for.
    pub(crate) keys: Vec<K>,
}

impl<K: Eq + Hash, M> Drop for Claim<K, M> {
    fn drop(&mut self) {
        let mut waiting = self.shared.waiting.lock().expect("the waiting table is never poisoned");
        for key in &self.keys {
            waiting.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UDP server on loopback that sends every datagram back; its address.
    async fn echo_server() -> SocketAddr {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let address = server.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 64];
            while let Ok((n, from)) = server.recv_from(&mut buf).await {
                let _ = server.send_to(&buf[..n], from).await;
            }
        });
        address
    }

    /// A socket whose datagrams are keyed by their first byte and carry the second.
    async fn shared() -> Arc<SharedSocket<u8, u8>> {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        Arc::new(SharedSocket::new(socket, |d, _| (d.len() == 2).then(|| (d[0], d[1]))))
    }

    #[tokio::test]
    async fn each_check_gets_its_own_datagrams_and_gives_its_keys_back() {
        let (server, shared) = (echo_server().await, shared().await);
        let mut next = 0u8;
        let checks: Vec<_> = (0..50u8)
            .map(|n| {
                let (claim, mut got) = shared
                    .claim(2, || {
                        next = next.wrapping_add(1);
                        next
                    })
                    .unwrap();
                let shared = shared.clone();
                async move {
                    for key in &claim.keys {
                        shared.socket().send_to(&[*key, n], server).await.unwrap();
                    }
                    let answers = [got.recv().await.unwrap().unwrap(), got.recv().await.unwrap().unwrap()];
                    drop(claim);
                    answers
                }
            })
            .collect();
        let answers = futures_util::future::join_all(checks).await;
        for (n, answer) in answers.iter().enumerate() {
            assert_eq!(answer, &[n as u8, n as u8], "check {n} got another's datagram");
        }
        assert_eq!(shared.claimed(), 0, "every key is given back");
    }

    #[tokio::test]
    async fn a_key_already_waiting_is_not_handed_out_again() {
        let shared = shared().await;
        let (first, _) = shared.claim(1, || 7).unwrap();
        assert!(shared.claim(1, || 7).is_none(), "key 7 is taken and no other was proposed");
        let mut proposals = [7, 8].into_iter().cycle();
        let (second, _) = shared.claim(1, || proposals.next().unwrap()).unwrap();
        assert_eq!((first.keys.as_slice(), second.keys.as_slice()), (&[7][..], &[8][..]));
        drop(first);
        assert_eq!(shared.claimed(), 1, "a dropped claim gives its keys back");
    }

    #[tokio::test]
    async fn dropping_the_shared_socket_stops_its_reader_and_closes_the_socket() {
        let shared = shared().await;
        let socket = shared.socket.clone();
        drop(Arc::into_inner(shared).unwrap());
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(Arc::strong_count(&socket), 1, "the reader still holds the socket");
    }
}
