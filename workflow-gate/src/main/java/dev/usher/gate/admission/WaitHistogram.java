package dev.usher.gate.admission;

import java.time.Duration;

/**
 * Wait times in log-linear buckets (the HdrHistogram idea, in 1 KiB): values below 16 ns get a bucket
 * each; above, every power of two is split into 16 equal sub-buckets, so a reported percentile (a
 * bucket's upper bound, capped at the largest value seen) is at most 1/16 above the true value. Memory is
 * fixed whatever the number of samples. Not thread-safe: the queue's lock guards it.
 */
final class WaitHistogram {
    private static final int SUB_BITS = 4;
    private static final int SUB = 1 << SUB_BITS;
    private final long[] counts = new long[(64 - SUB_BITS + 1) * SUB];
    private long total;
    private long max;

    void record(long nanos) {
        long v = Math.max(0, nanos);
        counts[index(v)]++;
        total++;
        max = Math.max(max, v);
    }

    /** Records {@code n} waits of zero at once. */
    void recordZeros(long n) {
        counts[0] += n;
        total += n;
    }

    /** The value at or below which {@code fraction} of the samples lie; zero when empty. */
    Duration percentile(double fraction) {
        if (total == 0) {
            return Duration.ZERO;
        }
        long target = Math.max(1, (long) Math.ceil(fraction * total));
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= target) {
                return Duration.ofNanos(Math.min(upperBound(i), max));
            }
        }
        return Duration.ofNanos(max);
    }

    static int index(long v) {
        if (v < SUB) {
            return (int) v;
        }
        int exponent = 63 - Long.numberOfLeadingZeros(v); // >= SUB_BITS
        int sub = (int) (v >>> (exponent - SUB_BITS)) & (SUB - 1);
        return (exponent - SUB_BITS + 1) * SUB + sub;
    }

    /** The largest value that falls in bucket {@code i}. */
    static long upperBound(int i) {
        if (i < SUB) {
            return i;
        }
        int exponent = i / SUB - 1 + SUB_BITS;
        long sub = i % SUB;
        long width = 1L << (exponent - SUB_BITS);
        long lower = (1L << exponent) + sub * width;
        return lower + width - 1;
    }
}
