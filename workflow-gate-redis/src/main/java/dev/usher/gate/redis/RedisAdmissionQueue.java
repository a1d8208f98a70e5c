package dev.usher.gate.redis;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.session.Durations;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;
import redis.clients.jedis.UnifiedJedis;

/**
 * An {@link AdmissionQueue} shared by every instance that builds one with the same name on the same Redis
 * (standalone or Cluster): across all of them at most {@code maxRunning} permits are out, at most
 * {@code maxRunningPerKey} for one key, waiters are admitted in one fair-by-key order (round robin across keys,
 * FIFO within a key, as the local queue) and {@code position()} is the rank in the whole cluster's line.
 *
 * <pre>{@code
 * AdmissionQueue queue = RedisAdmissionQueue.builder(jedis, "chat", 4).maxRunningPerKey(1).build();
 * }</pre>
 *
 * <p>Thread-safe; build one per queue name per process and share it. Whoever builds it owns it and closes it;
 * the {@link UnifiedJedis} stays the caller's (the queue never closes it) and keeps one of its connections
 * for the queue's pub/sub subscription. Every protocol step is one Lua script on the queue's hash slot, so it
 * is atomic across instances: {@code enter} and {@code Permit.close()} cost one round trip each,
 * {@code position()} one round trip (ZRANK, O(log n)).
 *
 * <ul>
 *   <li>Permits are leases: the holding instance renews all of them with one call every third of the lease
 *       time. An instance that stops (kill -9, network cut) loses its permits and its waiters within the
 *       lease time, and each permit carries a {@link FencedPermit#fencingToken() fencing token}.</li>
 *   <li>Waiters are woken by a pub/sub message to their instance; a missed message is caught up by the
 *       batched position refresh every notification period, which also calls each listener with
 *       {@code POSITION_CHANGED} even when nothing changed, so a host writing to a departed client finds out
 *       and leaves the line; a listener that throws cancels its ticket.</li>
 *   <li>A ticket that leaves (cancel, client gone, instance dead) leaves its key's slot for the reconnect
 *       grace period: the same key entering again through any instance gets that place back.</li>
 *   <li>When Redis cannot be reached within the command timeout, calls throw
 *       {@link AdmissionUnavailableException} and fail fast until a background probe sees Redis again; the same
 *       queue then carries on. {@code stats()} and {@code position()} answer with the last known figures
 *       meanwhile.</li>
 * </ul>
 */
public interface RedisAdmissionQueue extends AdmissionQueue {

    /**
     * A builder for the queue called {@code name} (1 to 64 letters, digits, '-' or '_') on {@code redis}, at
     * most {@code maxRunning} permits out across all instances. Every instance must use the same limits.
     */
    static Builder builder(UnifiedJedis redis, String name, int maxRunning) {
        return new Builder(redis, name, maxRunning);
    }

    /** The queue's name, shared by every instance. */
    String name();

    /**
     * Configures a {@link RedisAdmissionQueue}. Each method validates its argument at once and throws
     * {@link IllegalArgumentException} naming the value and the limit. Not thread-safe; build once.
     */
    final class Builder {
        final UnifiedJedis redis;
        final String name;
        final int maxRunning;
        int maxQueued = 10_000;
        Duration maxWait;
        int maxRunningPerKey;
        Duration notificationPeriod = Duration.ofSeconds(1);
        Duration initialRunDuration;
        double smoothing = 0.2;
        Duration leaseTime = Duration.ofSeconds(15);
        Duration reconnectGrace = Duration.ofSeconds(30);
        Duration commandTimeout = Duration.ofSeconds(2);
        Duration probeInterval = Duration.ofMillis(500);
        AdmissionQueue fallback;
        ThreadFactory threadFactory;

        private Builder(UnifiedJedis redis, String name, int maxRunning) {
            this.redis = Objects.requireNonNull(redis, "redis");
            Objects.requireNonNull(name, "name");
            if (!name.matches("[A-Za-z0-9_-]{1,64}")) {
                throw new IllegalArgumentException(
                        "name must be 1 to 64 letters, digits, '-' or '_' but was '" + name + "'");
            }
            if (maxRunning < 1) {
                throw new IllegalArgumentException("maxRunning must be at least 1 but was " + maxRunning);
            }
            this.name = name;
            this.maxRunning = maxRunning;
            this.maxRunningPerKey = maxRunning;
        }

        /** How many tickets may wait across the cluster (at least 0; 0 = admit at once or reject). Default 10,000. */
        public Builder maxQueued(int maxQueued) {
            if (maxQueued < 0) {
                throw new IllegalArgumentException("maxQueued must be at least 0 but was " + maxQueued);
            }
            this.maxQueued = maxQueued;
            return this;
        }

        /** How long a ticket may wait before it times out (at least 1 ms). Default: no limit. */
        public Builder maxWait(Duration maxWait) {
            this.maxWait = atLeastOneMilli("maxWait", maxWait);
            return this;
        }

        /** How many permits one key may hold at once across the cluster (1 to maxRunning). Default maxRunning. */
        public Builder maxRunningPerKey(int maxRunningPerKey) {
            if (maxRunningPerKey < 1 || maxRunningPerKey > maxRunning) {
                throw new IllegalArgumentException("maxRunningPerKey must be between 1 and maxRunning "
                        + maxRunning + " but was " + maxRunningPerKey);
            }
            this.maxRunningPerKey = maxRunningPerKey;
            return this;
        }

        /**
         * How often each waiting ticket's position is refreshed (one batched call for all of this instance's
         * waiters) and its listener told, changed or not (at least 10 ms). Default 1 s.
         */
        public Builder notificationPeriod(Duration period) {
            this.notificationPeriod = atLeast("notificationPeriod", period, Duration.ofMillis(10));
            return this;
        }

        /** The run duration assumed before any run has finished (at least 1 ms). Default: none. */
        public Builder initialRunDuration(Duration duration) {
            this.initialRunDuration = atLeastOneMilli("initialRunDuration", duration);
            return this;
        }

        /** The weight of the newest run duration in the cluster-wide moving average, in (0, 1]. Default 0.2. */
        public Builder estimateSmoothing(double weight) {
            if (!(weight > 0 && weight <= 1)) {
                throw new IllegalArgumentException("estimateSmoothing must be in (0, 1] but was " + weight);
            }
            this.smoothing = weight;
            return this;
        }

        /**
         * Permits and waiters of an instance that stopped renewing are gone within this time (at least 300 ms).
         * Renewed every third of it; an instance that cannot renew for two thirds of it loses its lease, so
         * keep it well above the command timeout. Default 15 s.
         */
        public Builder leaseTime(Duration leaseTime) {
            this.leaseTime = atLeast("leaseTime", leaseTime, Duration.ofMillis(300));
            return this;
        }

        /**
         * How long a departed ticket's place is kept for its key (zero: not kept). Default 30 s.
         */
        public Builder reconnectGrace(Duration grace) {
            this.reconnectGrace = atLeast("reconnectGrace", grace, Duration.ZERO);
            return this;
        }

        /**
         * The longest a call waits for Redis before it throws {@link AdmissionUnavailableException} (10 ms to
         * 1 min). Default 2 s.
         */
        public Builder commandTimeout(Duration timeout) {
            atLeast("commandTimeout", timeout, Duration.ofMillis(10));
            if (timeout.compareTo(Duration.ofMinutes(1)) > 0) {
                throw new IllegalArgumentException("commandTimeout must be at most 1m but was "
                        + Durations.format(timeout));
            }
            this.commandTimeout = timeout;
            return this;
        }

        /**
         * After a failed call, how long calls fail fast before Redis is tried again (at least 10 ms). Default
         * 500 ms.
         */
        public Builder probeInterval(Duration interval) {
            this.probeInterval = atLeast("probeInterval", interval, Duration.ofMillis(10));
            return this;
        }

        /**
         * A local queue that takes over {@code enter} while Redis cannot be reached, instead of
         * {@link AdmissionUnavailableException}: give it a cap of its own (this instance's share of the
         * backend). Its permits are never reported to Redis, so while Redis is down the cluster-wide cap is
         * replaced by the sum of the instances' fallback caps. The caller owns it and closes it. Default: none.
         */
        public Builder fallback(AdmissionQueue localQueue) {
            this.fallback = Objects.requireNonNull(localQueue, "fallback");
            return this;
        }

        /**
         * Where the queue's threads come from: its timer, its listener thread, its pub/sub subscriber and the
         * bounded pool that runs Redis calls under their time limit. Default: platform daemon threads named
         * {@code usher-redis-queue-<name>…}. Pass the host's factory for virtual threads, its naming or MDC;
         * the host then owns what the factory does. {@link RedisAdmissionQueue#close()} stops them either way.
         */
        public Builder threadFactory(ThreadFactory factory) {
            this.threadFactory = Objects.requireNonNull(factory, "threadFactory");
            return this;
        }

        /**
         * Builds the queue, registers this instance and starts its threads. Does not fail when Redis is down:
         * the queue then throws {@link AdmissionUnavailableException} (or uses the fallback) until Redis is back.
         */
        public RedisAdmissionQueue build() {
            return new DefaultRedisAdmissionQueue(this);
        }

        private static Duration atLeastOneMilli(String setting, Duration d) {
            return atLeast(setting, d, Duration.ofMillis(1));
        }

        private static Duration atLeast(String setting, Duration d, Duration min) {
            return Durations.requireAtLeast(setting, d, min);
        }
    }
}
