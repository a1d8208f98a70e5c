package dev.usher.gate.ratelimit;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConfigurationBuilder;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.VerboseResult;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import dev.usher.session.StoreCircuit;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.CRC32;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link RateLimiter} implementation: local buckets, or a shared store with a store-down policy. With a
 * shared store, a {@link StoreCircuit} remembers that the store is down, so that the policy applies at once
 * to every call until the circuit's probe (a read of a bucket of its own) reaches the store again.
 */
final class DefaultRateLimiter implements RateLimiter {
    private static final Logger log = LoggerFactory.getLogger(DefaultRateLimiter.class);
    static final int MAXIMUM_KEY_LENGTH = 256;

    private final String name;
    private final List<Limit> limits;
    private final long smallestQuota;
    private final BucketConfiguration configuration;
    private final ProxyManager<String> shared;
    private final String sharedKeyPrefix;
    private final StoreDownPolicy storeDownPolicy;
    private final Duration storeDownRetryAfter;
    /** The buckets in local mode, or the fallback buckets in shared mode (only used while the store is down). */
    private final LocalBuckets local;
    /** The limits of {@link #local}: the limits, or in shared mode their local-fallback share. */
    private final List<Limit> localLimits;
    private final StoreCircuit circuit;

    private final AtomicBoolean storeDown = new AtomicBoolean();
    private final LongAdder allowed = new LongAdder();
    private final LongAdder denied = new LongAdder();
    private final LongAdder storeFailures = new LongAdder();
    private final LongAdder degraded = new LongAdder();

    DefaultRateLimiter(RateLimiter.Builder b) {
        this.name = b.name;
        this.limits = List.copyOf(b.limits);
        this.smallestQuota = limits.stream().mapToLong(Limit::quota).min().orElseThrow();
        this.configuration = configurationOf(limits);
        this.shared = b.shared;
        // The limits' fingerprint is part of the key: a store keeps a bucket's configuration from its
        // creation, so after a change of limits the old buckets would go on with the old ones (and a
        // different number of limits would not even line up). New limits, new buckets.
        this.sharedKeyPrefix = "usher:rl:" + name + ":" + fingerprint(limits) + ":";
        this.storeDownPolicy = b.storeDownPolicy;
        this.storeDownRetryAfter = b.storeDownRetryAfter;
        this.localLimits = shared == null ? limits : fallbackLimits(limits, b.localFallbackShare);
        this.local = new LocalBuckets(localLimits, shared == null ? configuration : configurationOf(localLimits),
                shared != null, b.maximumKeys, b.ticker::getAsLong);
        if (shared == null) {
            this.circuit = null;
        } else {
            String probeKey = "usher:rl-probe:" + name;
            this.circuit = StoreCircuit.create("rate limiter '" + name + "' shared store", PROBE_INTERVAL,
                    () -> shared.builder().build(probeKey, () -> configuration).getAvailableTokens());
        }
    }

    /** How often a shared store that is down is probed. */
    static final Duration PROBE_INTERVAL = Duration.ofMillis(200);

    private static BucketConfiguration configurationOf(List<Limit> limits) {
        ConfigurationBuilder config = BucketConfiguration.builder();
        for (Limit limit : limits) {
            config.addLimit(Bandwidth.builder()
                    .capacity(limit.quota())
                    .refillGreedy(limit.quota(), limit.window())
                    .id(limit.name())
                    .build());
        }
        return config.build();
    }

    /** Each limit with {@code share} of its quota (at least 1 token), same name and window. */
    static List<Limit> fallbackLimits(List<Limit> limits, double share) {
        List<Limit> out = new ArrayList<>(limits.size());
        for (Limit limit : limits) {
            long quota = Math.max(1, (long) Math.floor(limit.quota() * share + 1e-9));
            out.add(new Limit(limit.name(), quota, limit.window()));
        }
        return List.copyOf(out);
    }

    @Override
    public Decision tryAcquire(String key, long tokens) {
        if (key == null) {
            throw new NullPointerException("key");
        }
        if (key.isEmpty() || key.length() > MAXIMUM_KEY_LENGTH) {
            throw new IllegalArgumentException("rate limiter '" + name + "': key length must be 1 to "
                    + MAXIMUM_KEY_LENGTH + " but was " + key.length());
        }
        if (tokens < 1 || tokens > smallestQuota) {
            throw new IllegalArgumentException("rate limiter '" + name + "': tokens must be 1 to " + smallestQuota
                    + " (the smallest quota) but was " + tokens);
        }
        Decision decision = shared == null ? local.tryAcquire(key, tokens) : sharedDecision(key, tokens);
        (decision.allowed() ? allowed : denied).increment();
        return decision;
    }

    private Decision sharedDecision(String key, long tokens) {
        if (circuit.isOpen()) {
            // Known down: decide by the policy at once instead of waiting for the store's own failure.
            storeFailures.increment();
            return storeDownDecision(key, tokens);
        }
        VerboseResult<ConsumptionProbe> result;
        try {
            result = shared.builder().build(sharedKey(key), () -> configuration)
                    .asVerbose()
                    .tryConsumeAndReturnRemaining(tokens);
        } catch (RuntimeException e) {
            storeFailures.increment();
            if (isConnectionLevel(e)) {
                circuit.trip(e);
            }
            if (storeDown.compareAndSet(false, true)) {
                log.warn("rate limiter '{}': shared store unreachable, deciding by {} until it is back",
                        name, storeDownPolicy, e);
            } else {
                log.debug("rate limiter '{}': shared store still unreachable", name, e);
            }
            return storeDownDecision(key, tokens);
        }
        if (storeDown.compareAndSet(true, false)) {
            log.info("rate limiter '{}': shared store reachable again", name);
        }
        return fromProbe(result);
    }

    private Decision storeDownDecision(String key, long tokens) {
        degraded.increment();
        return switch (storeDownPolicy) {
            case FAIL_OPEN -> new Decision(true, 0, Duration.ZERO, Duration.ZERO, List.of(), true);
            case FAIL_CLOSED -> new Decision(false, 0, storeDownRetryAfter, Duration.ZERO, List.of(), true);
            case LOCAL_FALLBACK -> tokens > smallestFallbackQuota()
                    // More than this instance's share can ever hold: deny until the shared store is back.
                    ? new Decision(false, 0, storeDownRetryAfter, Duration.ZERO, List.of(), true)
                    : local.tryAcquire(key, tokens);
        };
    }

    private long smallestFallbackQuota() {
        return localLimits.stream().mapToLong(Limit::quota).min().orElseThrow();
    }

    /**
     * Whether the store itself could not be reached (refused, reset, timed out), as opposed to an error in
     * what was asked. Drivers are optional dependencies here, so Jedis's exceptions are known by name.
     */
    static boolean isConnectionLevel(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IOException || t instanceof SQLNonTransientConnectionException
                    || t instanceof SQLRecoverableException || t instanceof java.sql.SQLTransientConnectionException) {
                return true;
            }
            if (t instanceof SQLException s && s.getSQLState() != null
                    && (s.getSQLState().startsWith("08") || s.getSQLState().startsWith("57P"))) {
                return true;
            }
            // Bucket4j's PostgreSQL store reports the failed rollback after an I/O error, not the I/O error:
            // all that is left is the pool saying the (broken) connection is closed.
            if (t instanceof SQLException && t.getMessage() != null
                    && t.getMessage().toLowerCase(java.util.Locale.ROOT).matches(".*connection (is|has been) closed.*")) {
                return true;
            }
            String type = t.getClass().getSimpleName();
            if (type.equals("JedisConnectionException") || type.equals("JedisClusterOperationException")) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    /** A decision of the shared store, from Bucket4j's verbose result. */
    private Decision fromProbe(VerboseResult<ConsumptionProbe> result) {
        ConsumptionProbe probe = result.getValue();
        long[] perLimit = result.getDiagnostics().getAvailableTokensPerEachBandwidth();
        // An immutable list from the start: Decision's List.copyOf then keeps it as it is.
        Decision.LimitState[] states = new Decision.LimitState[limits.size()];
        for (int i = 0; i < limits.size(); i++) {
            Limit limit = limits.get(i);
            long available = Math.max(0, Math.min(limit.quota(), perLimit[i]));
            states[i] = new Decision.LimitState(limit, available, LocalBuckets.reset(limit, available));
        }
        Duration retryAfter = probe.isConsumed() ? Duration.ZERO : Duration.ofNanos(probe.getNanosToWaitForRefill());
        Duration untilFull = Duration.ofNanos(result.getDiagnostics().calculateFullRefillingTime());
        return new Decision(probe.isConsumed(), Math.max(0, probe.getRemainingTokens()), retryAfter, untilFull,
                List.of(states), false);
    }

    static String fingerprint(List<Limit> limits) {
        CRC32 crc = new CRC32();
        for (Limit limit : limits) {
            crc.update((limit.name() + "=" + limit.quota() + "/" + limit.window().getSeconds() + ";")
                    .getBytes(StandardCharsets.UTF_8));
        }
        return String.format("%08x", crc.getValue());
    }

    /** The key of {@code key}'s bucket in the shared store. */
    String sharedKey(String key) {
        return sharedKeyPrefix + key;
    }

    @Override
    public List<Limit> limits() {
        return limits;
    }

    /** Stops the shared store's probe thread, if one was started. Idempotent. */
    @Override
    public void close() {
        if (circuit != null) {
            circuit.close();
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public RateLimiterStats stats() {
        return new RateLimiterStats(allowed.sum(), denied.sum(), storeFailures.sum(), degraded.sum(), local.size());
    }

    /** The local buckets (tests). */
    LocalBuckets localBuckets() {
        return local;
    }

    @Override
    public String toString() {
        return "RateLimiter[" + name + ", " + limits + (shared == null ? ", local]" : ", shared, " + storeDownPolicy + "]");
    }
}
