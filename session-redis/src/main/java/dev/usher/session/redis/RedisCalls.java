package dev.usher.session.redis;

import dev.usher.session.SessionStoreException;
import dev.usher.session.StoreCircuit;
import dev.usher.session.StoreUnavailableException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import redis.clients.jedis.exceptions.JedisClusterOperationException;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * Runs each store call behind the circuit and sorts what Redis answers into the store's exceptions: a
 * server that is loading, failing over or reconfiguring its cluster, and any connection failure, become
 * {@link StoreUnavailableException} (and open the circuit when the whole server or cluster is not serving);
 * other refusals become {@link SessionStoreException}. Thread-safe; holds no monitor.
 */
final class RedisCalls implements AutoCloseable {
    /** How often a Redis that is down is probed: recovery is seen within this plus one round trip. */
    static final Duration PROBE_INTERVAL = Duration.ofMillis(200);
    /** Server errors that mean "not now" rather than "never": loading, failover, cluster reconfiguration. */
    private static final List<String> TRANSIENT_ERRORS = List.of(
            "LOADING", "BUSY", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY", "NOREPLICAS");
    /** Server errors that also mean the whole server (or cluster) is not serving, so calls should not wait on it. */
    private static final List<String> OUTAGE_ERRORS = List.of("LOADING", "CLUSTERDOWN", "MASTERDOWN");

    private final StoreCircuit circuit;
    private final AtomicBoolean closed = new AtomicBoolean();

    RedisCalls(String keyPrefix, StoreCircuit.Probe probe) {
        this.circuit = StoreCircuit.create("Redis session store " + keyPrefix, PROBE_INTERVAL, probe);
    }

    <T> T call(String operation, Supplier<T> body) {
        if (closed.get()) {
            throw new IllegalStateException("RedisSessionStore is closed");
        }
        circuit.throwIfOpen();
        try {
            return body.get();
        } catch (JedisDataException e) {
            if (startsWithAny(e, TRANSIENT_ERRORS)) {
                if (startsWithAny(e, OUTAGE_ERRORS)) {
                    circuit.trip(e);
                }
                throw new StoreUnavailableException("Redis could not serve " + operation + ": " + e.getMessage(), e,
                        PROBE_INTERVAL);
            }
            throw new SessionStoreException("Redis refused " + operation + ": " + e.getMessage(), e);
        } catch (JedisException e) {
            // Connection refused or reset, a timeout, cluster retries used up: Redis is down, so open the
            // circuit. An exhausted pool wait is load, not an outage: that call fails alone.
            if (e instanceof JedisConnectionException || e instanceof JedisClusterOperationException) {
                circuit.trip(e);
            }
            throw new StoreUnavailableException("Redis unavailable during " + operation + ": " + e.getMessage(), e,
                    PROBE_INTERVAL);
        }
    }

    private static boolean startsWithAny(JedisDataException e, List<String> codes) {
        String m = e.getMessage();
        if (m == null) {
            return false;
        }
        for (String code : codes) {
            if (m.startsWith(code)) {
                return true;
            }
        }
        return false;
    }

    /** Whether this was the first close: the caller then releases what it owns. Stops the probe. */
    boolean closeOnce() {
        if (closed.compareAndSet(false, true)) {
            circuit.close();
            return true;
        }
        return false;
    }

    @Override
    public void close() {
        closeOnce();
    }
}
