package dev.usher.gate.redis;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * Runs the queue's script with a hard time bound and a circuit: a call that fails or overruns the command
 * timeout opens the circuit, and for the probe interval after that every call fails at once with
 * {@link AdmissionUnavailableException} instead of queueing up behind a dead server. The queue's background
 * thread keeps calling (a probe) and the first success closes the circuit.
 *
 * <p>Why a thread hop per call: a Jedis client's own timeouts do not bound a call (a Cluster client retries
 * up to its total retry duration, a pool waits for a free connection), so the bound is enforced here. A call
 * stuck past the bound keeps its I/O thread until the client's socket timeout; the open circuit stops more
 * from piling up meanwhile.
 */
final class RedisCalls {
    private static final int IO_THREADS = 32;
    private final UnifiedJedis redis;
    private final String queueName;
    private final String metaKey;
    private final long timeoutNanos;
    private final long probeNanos;
    private final ExecutorService io;
    private volatile long openUntil;
    private volatile boolean open;

    RedisCalls(UnifiedJedis redis, String queueName, String metaKey, Duration timeout, Duration probeInterval,
               ThreadFactory hostThreads) {
        this.redis = redis;
        this.queueName = queueName;
        this.metaKey = metaKey;
        this.timeoutNanos = timeout.toNanos();
        this.probeNanos = probeInterval.toNanos();
        AtomicInteger n = new AtomicInteger();
        ThreadFactory threads = hostThreads != null ? hostThreads : r -> {
            Thread t = new Thread(r, "usher-redis-queue-" + queueName + "-io-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        // A bounded pool: callers beyond it wait in line, and that wait counts against their time bound.
        ThreadPoolExecutor pool = new ThreadPoolExecutor(IO_THREADS, IO_THREADS, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), threads);
        pool.allowCoreThreadTimeOut(true);
        this.io = pool;
    }

    /** A call from a host thread: fails fast while the circuit is open. */
    Object call(List<String> args) {
        if (open && System.nanoTime() - openUntil < 0) {
            throw unavailable("Redis was unreachable a moment ago; failing fast until it answers again", null);
        }
        return run(args);
    }

    /** A call from the queue's own thread: always tries, so it doubles as the probe that closes the circuit. */
    Object probe(List<String> args) {
        return run(args);
    }

    boolean isOpen() {
        return open;
    }

    private Object run(List<String> args) {
        Future<Object> f;
        try {
            f = io.submit(() -> QueueScript.INSTANCE.run(redis, metaKey, args));
        } catch (RejectedExecutionException closed) {
            // The queue is closed but a permit is still being returned: no bound thread left, call directly.
            try {
                return QueueScript.INSTANCE.run(redis, metaKey, args);
            } catch (JedisException e) {
                throw trip("Redis call failed: " + e, e);
            }
        }
        try {
            Object reply = f.get(timeoutNanos, TimeUnit.NANOSECONDS);
            open = false;
            return reply;
        } catch (TimeoutException e) {
            f.cancel(true);
            throw trip("no answer from Redis within the command timeout " + Duration.ofNanos(timeoutNanos), e);
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw trip("interrupted while waiting for Redis", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof JedisDataException data && !isTransient(data)) {
                throw new IllegalStateException("RedisAdmissionQueue '" + queueName + "': script failed: "
                        + data.getMessage(), data);
            }
            if (cause instanceof JedisException || cause instanceof java.io.UncheckedIOException) {
                throw trip("Redis call failed: " + cause, cause);
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(cause);
        }
    }

    private static boolean isTransient(JedisDataException e) {
        String m = String.valueOf(e.getMessage());
        return m.startsWith("LOADING") || m.startsWith("CLUSTERDOWN") || m.startsWith("TRYAGAIN")
                || m.startsWith("MASTERDOWN") || m.startsWith("BUSY") || m.startsWith("READONLY")
                || m.startsWith("MOVED") || m.startsWith("ASK");
    }

    private AdmissionUnavailableException trip(String message, Throwable cause) {
        openUntil = System.nanoTime() + probeNanos;
        open = true;
        return unavailable(message, cause);
    }

    private AdmissionUnavailableException unavailable(String message, Throwable cause) {
        return new AdmissionUnavailableException("RedisAdmissionQueue '" + queueName + "' is unavailable: " + message,
                Duration.ofNanos(Math.max(probeNanos, 1_000_000_000L)), cause);
    }

    void shutdown() {
        io.shutdown();
    }
}
