//! Users' detector state kept in memory by the writer, so an ingest batch does not read back
//! what the previous batch just wrote.
//!
//! Only the writer thread touches it, and only the writer changes users, so it is never stale
//! with respect to committed data, with one exception handled here: entries written during a
//! group whose commit then fails are dropped again ([`UserCache::committed`]).

use std::collections::HashMap;
use ztrisk_core::scoring::ScoringUser;

/// Everything ingest needs about a user, under the user's row key.
#[derive(Debug, Clone)]
pub struct CachedUser {
    pub key: i64,
    pub user: ScoringUser,
}

type Key = (i64, String);

pub struct UserCache {
    users: HashMap<Key, CachedUser>,
    /// Entries put since the last commit: undone if that commit fails.
    pending: Vec<Key>,
    capacity: usize,
}

impl UserCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            users: HashMap::new(),
            pending: Vec::new(),
            capacity,
        }
    }

    /// Removes and returns the user: a batch owns the users it works on, and puts back only
    /// those it wrote successfully.
    pub fn take(&mut self, account_key: i64, email: &str) -> Option<CachedUser> {
        self.users.remove(&(account_key, email.to_owned()))
    }

    pub fn put(&mut self, account_key: i64, email: String, user: CachedUser) {
        if self.users.len() >= self.capacity {
            // Simple and bounded: start over rather than track recency.
            self.users.clear();
        }
        let key = (account_key, email);
        self.pending.push(key.clone());
        self.users.insert(key, user);
    }

    pub fn forget(&mut self, account_key: i64, email: &str) {
        self.users.remove(&(account_key, email.to_owned()));
    }

    /// Called by the writer after each group commit.
    pub fn committed(&mut self, ok: bool) {
        if ok {
            self.pending.clear();
        } else {
            for key in self.pending.drain(..) {
                self.users.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(key: i64) -> CachedUser {
        CachedUser {
            key,
            user: ScoringUser::new("n".into()),
        }
    }

    #[test]
    fn failed_commits_drop_what_they_put() {
        let mut cache = UserCache::new(10);
        cache.put(1, "a".into(), user(1));
        cache.committed(true);
        cache.put(1, "b".into(), user(2));
        cache.committed(false);
        assert!(cache.take(1, "b").is_none());
        assert_eq!(cache.take(1, "a").map(|u| u.key), Some(1));
        assert!(cache.take(1, "a").is_none(), "taken users leave the cache");
    }
}
