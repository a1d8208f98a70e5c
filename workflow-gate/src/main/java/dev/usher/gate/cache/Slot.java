package dev.usher.gate.cache;

/** What the cache maps a key to: the live entry (leased or idle), or its creation in progress. */
sealed interface Slot permits CacheEntry, Loading {
}
