package dev.usher.gate.redis;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

/**
 * This instance's last {@value #SIZE} waits and its estimate errors, for {@code stats()}: percentiles over a
 * cluster would need every instance's samples, so they are reported per instance.
 */
final class LocalWaits {
    static final int SIZE = 1024;

    record Snapshot(Duration p50, Duration p95, Duration p99, long compared, Duration meanAbsoluteError,
                    Duration meanError) {
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final long[] ring = new long[SIZE];
    private long count;
    private long compared;
    private double absErrorSum;
    private double errorSum;

    void record(long waitedMs, long estimateAtEnterMs) {
        lock.lock();
        try {
            ring[(int) (count++ % SIZE)] = waitedMs;
            if (estimateAtEnterMs >= 0) {
                compared++;
                absErrorSum += Math.abs(waitedMs - estimateAtEnterMs);
                errorSum += waitedMs - estimateAtEnterMs;
            }
        } finally {
            lock.unlock();
        }
    }

    Snapshot snapshot() {
        long[] sorted;
        long n;
        double abs;
        double err;
        lock.lock();
        try {
            n = compared;
            abs = absErrorSum;
            err = errorSum;
            sorted = Arrays.copyOf(ring, (int) Math.min(count, SIZE));
        } finally {
            lock.unlock();
        }
        Arrays.sort(sorted);
        long div = Math.max(1, n);
        return new Snapshot(pct(sorted, 0.50), pct(sorted, 0.95), pct(sorted, 0.99), n,
                Duration.ofMillis((long) (abs / div)), Duration.ofMillis((long) (err / div)));
    }

    private static Duration pct(long[] sorted, double q) {
        if (sorted.length == 0) {
            return Duration.ZERO;
        }
        int i = (int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
        return Duration.ofMillis(sorted[Math.max(0, i)]);
    }
}
