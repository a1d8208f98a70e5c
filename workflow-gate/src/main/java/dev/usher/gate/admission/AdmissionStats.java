package dev.usher.gate.admission;

import java.time.Duration;

/**
 * A snapshot of an {@link AdmissionQueue}'s state and counters since it was built.
 *
 * @param running permits currently out
 * @param queued tickets currently waiting
 * @param admitted tickets admitted (at once or after waiting)
 * @param rejected {@code enter} calls refused with {@link QueueFullException}
 * @param timedOut tickets that left the queue because they waited too long
 * @param cancelled tickets cancelled while queued (including those cancelled by {@code close()})
 * @param waitP50 median wait of admitted tickets (zero before any admission); from log-linear buckets
 *     whose upper bound is at most 1/16 above the true value
 * @param waitP95 95th percentile wait, same buckets
 * @param waitP99 99th percentile wait, same buckets
 * @param estimatesCompared admitted tickets that had to wait and got an estimate when they were queued
 * @param estimateMeanAbsoluteError mean of |actual wait - estimate at enter| over those tickets
 * @param estimateMeanError mean of (actual wait - estimate at enter): positive when estimates were too
 *     optimistic, negative when too pessimistic
 * @param estimateErrorP50 median of |actual wait - estimate at enter| over those tickets (same buckets as
 *     the waits)
 * @param estimateErrorP95 95th percentile of the same
 * @param estimateRelativeErrorP50 median of |actual wait - estimate at enter| / actual wait, e.g. 0.2 when
 *     half the estimates were within 20% of the wait (tickets that waited no time at all are left out)
 * @param estimateRelativeErrorP95 95th percentile of the same
 */
public record AdmissionStats(
        int running,
        int queued,
        long admitted,
        long rejected,
        long timedOut,
        long cancelled,
        Duration waitP50,
        Duration waitP95,
        Duration waitP99,
        long estimatesCompared,
        Duration estimateMeanAbsoluteError,
        Duration estimateMeanError,
        Duration estimateErrorP50,
        Duration estimateErrorP95,
        double estimateRelativeErrorP50,
        double estimateRelativeErrorP95) {

    /** A snapshot from a queue that does not track error percentiles: they read as zero. */
    public AdmissionStats(int running, int queued, long admitted, long rejected, long timedOut, long cancelled,
            Duration waitP50, Duration waitP95, Duration waitP99, long estimatesCompared,
            Duration estimateMeanAbsoluteError, Duration estimateMeanError) {
        this(running, queued, admitted, rejected, timedOut, cancelled, waitP50, waitP95, waitP99, estimatesCompared,
                estimateMeanAbsoluteError, estimateMeanError, Duration.ZERO, Duration.ZERO, 0, 0);
    }
}
