package dev.usher.spring.boot.autoconfigure;

import io.github.bucket4j.distributed.proxy.ProxyManager;

/**
 * The rate limiter's shared store, when it has one: its Bucket4j proxy manager and a probe for the health
 * indicator. Kept free of client types so the auto-configuration loads without the Redis client.
 */
interface SharedBuckets extends AutoCloseable {
    ProxyManager<String> proxyManager();

    /** Throws if the store does not answer. */
    void ping();

    /** What the store is, for health details (no credentials). */
    String describe();

    @Override
    void close();
}
