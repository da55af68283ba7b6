//! The alert manager's commits in flight. They run one at a time, in step order, except where
//! the store takes commits side by side ([`vigil_store::Store::alert_commits_side_by_side`]:
//! PostgreSQL, each on a connection of its own) and every commit in flight only adds or changes
//! alerts in groups, under row ids no other commit in flight writes. Such commits write rows
//! nobody else writes, under group headers committed before any of them started, so the order
//! they end in does not matter: a crash between them leaves whole groups, and each push is
//! answered after its own commit. While one waits on the database server the next can start.

use std::collections::{HashSet, VecDeque};

use tokio::task::JoinHandle;

use super::commit::Commit;

/// A commit running, and the member rows it writes when it writes nothing else.
struct Job {
    handle: JoinHandle<Vec<u32>>,
    members_only: Option<HashSet<i64>>,
}

/// The commits in flight, oldest first.
pub(super) struct InFlight {
    jobs: VecDeque<Job>,
    side_by_side: usize,
}

impl InFlight {
    /// No commit in flight; at most `side_by_side` at once (at least one).
    pub fn new(side_by_side: usize) -> Self {
        Self { jobs: VecDeque::new(), side_by_side: side_by_side.max(1) }
    }

    /// Whether `commit` may start now, beside the commits in flight (otherwise they are waited
    /// for first).
    pub fn may_start(&self, commit: &Commit) -> bool {
        if self.jobs.is_empty() {
            return true;
        }
        if self.jobs.len() >= self.side_by_side {
            return false;
        }
        let Some(rows) = commit.members_only() else { return false };
        self.jobs.iter().all(|job| job.members_only.as_ref().is_some_and(|theirs| theirs.is_disjoint(&rows)))
    }

    /// Starts `commit` (after [`InFlight::may_start`] said so, or once all are settled).
    pub fn start(&mut self, commit: Commit, committer: super::commit::Committer) {
        let members_only = commit.members_only();
        self.jobs.push_back(Job { handle: tokio::spawn(commit.run(committer)), members_only });
    }

    /// Waits for every commit in flight; the partitions they lost.
    pub async fn settle(&mut self) -> Vec<u32> {
        let mut lost = Vec::new();
        while let Some(job) = self.jobs.pop_front() {
            lost.extend(Self::outcome(job.handle.await));
        }
        lost
    }

    /// Takes the commits that have ended; the partitions they lost.
    pub async fn reap(&mut self) -> Vec<u32> {
        let mut lost = Vec::new();
        let mut running = VecDeque::with_capacity(self.jobs.len());
        for job in std::mem::take(&mut self.jobs) {
            if job.handle.is_finished() {
                lost.extend(Self::outcome(job.handle.await));
            } else {
                running.push_back(job);
            }
        }
        self.jobs = running;
        lost
    }

    fn outcome(joined: Result<Vec<u32>, tokio::task::JoinError>) -> Vec<u32> {
        match joined {
            Ok(lost) => lost,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use vigil_store::{MemberRow, NewOutboxEntry};

    use super::*;

    fn joins(ids: &[i64]) -> Commit {
        let mut commit = Commit::default();
        commit.batch.group_members = ids
            .iter()
            .map(|id| MemberRow { id: *id, group_key: "g".into(), member_key: id.to_string(), alert: "{}".into() })
            .collect();
        commit
    }

    /// A commit that never ends, in flight.
    fn running(flight: &mut InFlight, commit: &Commit) {
        let members_only = commit.members_only();
        flight.jobs.push_back(Job { handle: tokio::spawn(std::future::pending()), members_only });
    }

    #[tokio::test]
    async fn only_joins_under_other_ids_start_beside_joins() {
        let mut flight = InFlight::new(3);
        let mut flush = joins(&[9]);
        flush.batch.outbox.push(NewOutboxEntry {
            dedup_key: "g".into(),
            notifier: "hook".into(),
            notice: "trigger".into(),
            message: "{}".into(),
            created_at: 1,
        });
        assert!(flight.may_start(&flush), "nothing in flight: anything starts");
        running(&mut flight, &joins(&[1, 2]));
        assert!(flight.may_start(&joins(&[3, 4])), "other rows: they start beside");
        assert!(!flight.may_start(&joins(&[2, 5])), "row 2 is being written: it waits");
        assert!(!flight.may_start(&flush), "a flush waits for every commit before it");
        let (answer, _) = tokio::sync::oneshot::channel();
        let mut flushing = joins(&[6]);
        flushing.flushed.push(answer);
        assert!(!flight.may_start(&flushing), "a flush's answer waits for every commit before it");
        running(&mut flight, &joins(&[3]));
        running(&mut flight, &joins(&[4]));
        assert!(!flight.may_start(&joins(&[7])), "three in flight: the fourth waits");

        let mut flight = InFlight::new(3);
        running(&mut flight, &flush);
        assert!(!flight.may_start(&joins(&[7])), "joins wait for a flush in flight (its group's header)");
    }

    #[tokio::test]
    async fn one_at_a_time_where_the_store_says_so() {
        let mut flight = InFlight::new(1);
        running(&mut flight, &joins(&[1]));
        assert!(!flight.may_start(&joins(&[2])));
    }
}
