//! An in-memory cache with a time to live and in-flight de-duplication: concurrent
//! lookups of one key share one fetch.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use crate::Error;

/// Counters of a resolver's caches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Lookups answered by a cached value or by joining a fetch already in flight.
    pub hits: u64,
    /// Lookups that started a fetch.
    pub misses: u64,
    /// Entries held now (including fetches in flight).
    pub entries: usize,
}

struct Slot<V> {
    created: Instant,
    cell: Arc<OnceCell<Result<V, Error>>>,
}

pub(crate) struct Cache<K, V> {
    map: Mutex<HashMap<K, Slot<V>>>,
    ttl: Duration,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            ttl,
            capacity: capacity.max(1),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cached value for `key`, or the result of `fetch` (shared with every concurrent
    /// caller for the same key). Errors are not kept once the fetch is over.
    pub(crate) async fn get_or_fetch<F, Fut>(&self, key: K, fetch: F) -> Result<V, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, Error>>,
    {
        if self.ttl.is_zero() {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return fetch().await;
        }
        let cell = {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            match map.get(&key) {
                Some(slot) if slot.created.elapsed() < self.ttl => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    Arc::clone(&slot.cell)
                }
                _ => {
                    self.misses.fetch_add(1, Ordering::Relaxed);
                    if map.len() >= self.capacity {
                        let ttl = self.ttl;
                        map.retain(|_, s| s.created.elapsed() < ttl);
                    }
                    if map.len() >= self.capacity {
                        if let Some(oldest) = map
                            .iter()
                            .min_by_key(|(_, s)| s.created)
                            .map(|(k, _)| k.clone())
                        {
                            map.remove(&oldest);
                        }
                    }
                    let cell = Arc::new(OnceCell::new());
                    map.insert(
                        key.clone(),
                        Slot {
                            created: Instant::now(),
                            cell: Arc::clone(&cell),
                        },
                    );
                    cell
                }
            }
        };
        let result = cell.get_or_init(fetch).await.clone();
        if result.is_err() {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            if map.get(&key).is_some_and(|s| Arc::ptr_eq(&s.cell, &cell)) {
                map.remove(&key);
            }
        }
        result
    }

    pub(crate) fn remove(&self, key: &K) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    pub(crate) fn clear(&self) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self
                .map
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len(),
        }
    }
}
