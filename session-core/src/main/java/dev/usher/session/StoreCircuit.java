package dev.usher.session;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fails calls to a store fast while it is down: once a call has seen the store unreachable, every later
 * call fails at once with {@link StoreUnavailableException} (instead of each waiting out a connect or pool
 * timeout) until a background probe reaches the store again. The session stores and the rate limiter's
 * shared buckets each keep one.
 *
 * <p>Thread-safe. {@link #throwIfOpen()} is a single volatile read while the store is up. The probe runs
 * as a {@link PeriodicTask} on a daemon thread named {@code usher-probe-<store>}, started when the circuit
 * opens and ended when it closes again or by {@link #close()}: no thread exists while the store is up. It
 * calls the {@link Probe} every probe interval (after the previous probe returned) and closes the circuit
 * on its first success. The store decides which failures open the circuit: only
 * connection-level ones (refused, reset, timed out), never a constraint violation or bad input.
 *
 * <pre>{@code
 * StoreCircuit circuit = StoreCircuit.create("session store usher_session", Duration.ofMillis(200), this::ping);
 * circuit.throwIfOpen();
 * try { ... } catch (SQLException e) { if (connectionLevel(e)) circuit.trip(e); throw ...; }
 * }</pre>
 */
public final class StoreCircuit implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StoreCircuit.class);

    /** A cheap round trip to the store; returns normally when the store answered, throws otherwise. */
    @FunctionalInterface
    public interface Probe {
        void check() throws Exception;
    }

    private record Outage(Throwable cause, long sinceNanos) {
    }

    private final String store;
    private final Duration probeInterval;
    private final Probe probe;
    private final ReentrantLock lock = new ReentrantLock();
    private volatile Outage outage;
    private volatile boolean closed;
    private PeriodicTask prober; // guarded by lock; runs exactly while the circuit is open

    private StoreCircuit(String store, Duration probeInterval, Probe probe) {
        this.store = store;
        this.probeInterval = probeInterval;
        this.probe = probe;
    }

    /**
     * A closed (healthy) circuit for the store named {@code store} in messages and in the probe thread's name.
     *
     * @throws IllegalArgumentException if {@code probeInterval} is not between 1 ms and 1 minute
     */
    public static StoreCircuit create(String store, Duration probeInterval, Probe probe) {
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(probeInterval, "probeInterval");
        Objects.requireNonNull(probe, "probe");
        if (probeInterval.toMillis() < 1 || probeInterval.compareTo(Duration.ofMinutes(1)) > 0) {
            throw new IllegalArgumentException("probeInterval must be between 1ms and 1m but was "
                    + Durations.format(probeInterval));
        }
        return new StoreCircuit(store, probeInterval, probe);
    }

    /**
     * Throws at once while the store is known to be down.
     *
     * @throws StoreUnavailableException with the failure that opened the circuit as its cause and the probe
     *     interval as its {@linkplain StoreUnavailableException#retryAfter() retry hint}
     */
    public void throwIfOpen() {
        Outage o = outage;
        if (o != null) {
            long downMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - o.sinceNanos);
            throw new StoreUnavailableException(store + " is unreachable (for " + Durations.format(Duration.ofMillis(downMillis))
                    + ", first failure: " + o.cause + "); failing fast until a probe reaches it again",
                    o.cause, probeInterval);
        }
    }

    /**
     * Opens the circuit after a call saw the store unreachable; later calls fail fast until a probe succeeds.
     *
     * @return true if this call opened it (it was closed before), false if it was already open or is closed
     */
    public boolean trip(Throwable cause) {
        Objects.requireNonNull(cause, "cause");
        if (closed || outage != null) {
            return false;
        }
        lock.lock();
        try {
            if (closed || outage != null) {
                return false;
            }
            outage = new Outage(cause, System.nanoTime());
            if (prober == null) {
                String name = "usher-probe-" + store.replace(' ', '-');
                prober = PeriodicTask.start(name, PeriodicTask.daemonThreads(name), probeInterval, this::probeOnce);
            }
        } finally {
            lock.unlock();
        }
        log.warn("{} is unreachable ({}); failing calls fast and probing it every {}", store, cause.toString(),
                Durations.format(probeInterval));
        return true;
    }

    /** Whether calls currently fail fast. */
    public boolean isOpen() {
        return outage != null;
    }

    /** How often the store is probed while the circuit is open. */
    public Duration probeInterval() {
        return probeInterval;
    }

    /** Stops the probe thread (waiting up to a few seconds for a probe under way). Idempotent. */
    @Override
    public void close() {
        PeriodicTask t;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            t = prober;
            prober = null;
        } finally {
            lock.unlock();
        }
        if (t != null) {
            t.close();
        }
    }

    private void probeOnce() {
        if (closed) {
            return;
        }
        try {
            probe.check();
        } catch (Exception | LinkageError e) {
            log.debug("{} still unreachable: {}", store, e.toString());
            return;
        }
        Outage o;
        PeriodicTask done;
        lock.lock();
        try {
            // Under the lock, so that a trip after this point starts a fresh probe instead of finding this one.
            o = outage;
            outage = null;
            done = prober;
            prober = null;
        } finally {
            lock.unlock();
        }
        if (done != null) {
            done.stop();
        }
        if (o != null) {
            log.info("{} is reachable again after {}", store, Durations.format(
                    Duration.ofMillis(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - o.sinceNanos))));
        }
    }
}
