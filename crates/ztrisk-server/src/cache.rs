//! In-memory caches that stay correct across processes.
//!
//! Every entry is tagged with the store's [`generation`](ztrisk_store::Store::generation) at
//! the time it was read; when the generation moves (any write, by this process, the admin CLI
//! or another replica) the whole cache is dropped. Reads are hot (every request authenticates)
//! and writes are rare, so dropping everything is both simple and cheap.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;

pub struct GenerationCache<K, V> {
    inner: RwLock<Inner<K, V>>,
    capacity: usize,
}

struct Inner<K, V> {
    generation: u64,
    entries: HashMap<K, V>,
}

impl<K: Eq + Hash, V: Clone> GenerationCache<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: RwLock::new(Inner {
                generation: u64::MAX,
                entries: HashMap::new(),
            }),
            capacity,
        }
    }

    /// The value cached for `key`, if it was read at `generation`.
    pub fn get(&self, generation: u64, key: &K) -> Option<V> {
        let inner = self.inner.read().ok()?;
        if inner.generation != generation {
            return None;
        }
        inner.entries.get(key).cloned()
    }

    /// Remembers `value`, read from the store at `generation` (which the caller must have
    /// taken before reading, so a concurrent write can only make the entry look older).
    pub fn insert(&self, generation: u64, key: K, value: V) {
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        if inner.generation != generation {
            inner.entries.clear();
            inner.generation = generation;
        }
        // Bounded: a flood of distinct keys (random bogus tokens) only empties the cache.
        if inner.entries.len() >= self.capacity {
            inner.entries.clear();
        }
        inner.entries.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_everything_when_the_generation_moves() {
        let cache = GenerationCache::new(2);
        cache.insert(1, "a", 1);
        assert_eq!(cache.get(1, &"a"), Some(1));
        assert_eq!(cache.get(2, &"a"), None);
        cache.insert(2, "b", 2);
        assert_eq!(cache.get(2, &"a"), None);
        cache.insert(2, "c", 3);
        cache.insert(2, "d", 4);
        assert_eq!(cache.get(2, &"b"), None);
        assert_eq!(cache.get(2, &"d"), Some(4));
    }
}
