package dev.usher.gate.admission;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The wait estimates of a {@link DefaultAdmissionQueue} and the statistics that judge them: the moving
 * average of run durations, the running permits by start time (so an estimate counts what runs in progress
 * have already run), and histograms of waits and of estimate errors. Guarded by the queue's lock; the caller
 * holds it, except for {@link #runEnded(long)}, which the {@link FastPath} calls without it: the average is
 * one atomic word, so runs that end on the fast path and under the lock feed it in one order.
 */
final class WaitEstimator {
    private final int maxRunning;
    private final double smoothing;
    private final long initialRunNanos; // 0: none
    // Running permits, oldest first: the k-th is expected to free its slot k-th (see estimateNanos). While
    // the fast path runs it is empty and the keys hold the permits (see FastPath).
    final RankedTree<PermitImpl> runningByStart = new RankedTree<>(p -> p.admittedAt, p -> p.treeId);
    private long treeIds;
    private final AtomicLong averageRunBits = new AtomicLong(Double.doubleToRawLongBits(Double.NaN));
    private final WaitHistogram waits = new WaitHistogram();
    private final WaitHistogram estimateAbsErrors = new WaitHistogram();
    private final WaitHistogram estimateRelativeErrorsPpm = new WaitHistogram(); // |error| / wait, in millionths
    private long estimatesCompared;
    private double estimateAbsErrorSum;
    private double estimateErrorSum;

    WaitEstimator(int maxRunning, double smoothing, long initialRunNanos) {
        this.maxRunning = maxRunning;
        this.smoothing = smoothing;
        this.initialRunNanos = initialRunNanos;
    }

    /** A run started after its ticket waited {@code waited}; compares that with the estimate given at enter. */
    void started(PermitImpl permit, long waited, long estimateAtEnter) {
        track(permit);
        waits.record(waited);
        if (estimateAtEnter >= 0) {
            long error = waited - estimateAtEnter;
            estimatesCompared++;
            estimateErrorSum += error;
            estimateAbsErrorSum += Math.abs(error);
            estimateAbsErrors.record(Math.abs(error));
            if (waited > 0) {
                estimateRelativeErrorsPpm.record((long) Math.min(Long.MAX_VALUE, Math.abs(error) * 1e6 / waited));
            }
        }
    }

    /** Counts a running permit (admitted under the lock, or taken over from the fast path). */
    void track(PermitImpl permit) {
        permit.treeId = ++treeIds;
        runningByStart.add(permit);
    }

    /** Tickets the fast path admitted at once since the last call: each waited zero. */
    void admittedAtOnce(long n) {
        waits.recordZeros(n);
    }

    /** A run ended: its duration feeds the moving average. */
    void ended(PermitImpl permit, long now) {
        runningByStart.remove(permit);
        runEnded(now - permit.admittedAt);
    }

    /** A run of {@code ranNanos} ended; safe without the lock. */
    void runEnded(long ranNanos) {
        long ran = Math.max(0, ranNanos);
        while (true) {
            long bits = averageRunBits.get();
            double average = Double.longBitsToDouble(bits);
            double next = Double.isNaN(average) ? ran : average + smoothing * (ran - average);
            if (averageRunBits.compareAndSet(bits, Double.doubleToRawLongBits(next))) {
                return;
            }
        }
    }

    int running() {
        return runningByStart.size();
    }

    Optional<Double> averageRunNanos() {
        double averageRunNanos = Double.longBitsToDouble(averageRunBits.get());
        if (!Double.isNaN(averageRunNanos)) {
            return Optional.of(averageRunNanos);
        }
        return initialRunNanos > 0 ? Optional.of((double) initialRunNanos) : Optional.empty();
    }

    /** When a full queue's caller might retry: one slot's turnover, if anything is known about run times. */
    Optional<Duration> retryAfter() {
        return averageRunNanos().map(avg -> Duration.ofNanos(Math.max(1, (long) (avg / maxRunning))));
    }

    /**
     * The wait of the ticket at {@code position}, in nanos; -1 when there is no estimate. Every run is
     * assumed to take the moving average A, counting what runs in progress have already run: the slots free
     * up at {@code max(0, A - elapsed)} for each running permit (oldest first) and at 0 for a slot free now,
     * and each slot then turns over every A. Position p takes slot {@code (p - 1) mod maxRunning} after
     * {@code (p - 1) div maxRunning} turns. Counting the elapsed time is what keeps the estimate honest for
     * the first waiters behind runs that started long ago; a slot is found by one O(log maxRunning) select.
     */
    long estimateNanos(int position, long now) {
        Optional<Double> average = averageRunNanos();
        if (average.isEmpty()) {
            return -1;
        }
        double avg = average.get();
        int slot = (position - 1) % maxRunning;
        long turns = (position - 1) / maxRunning;
        int free = maxRunning - runningByStart.size();
        double first = 0;
        if (slot >= free) {
            PermitImpl p = runningByStart.select(slot - free);
            first = Math.max(0, avg - (now - p.admittedAt));
        }
        return (long) Math.min(Long.MAX_VALUE, first + turns * avg);
    }

    AdmissionStats stats(int running, int queued, long admitted, long rejected, long timedOut, long cancelled) {
        long n = Math.max(1, estimatesCompared);
        return new AdmissionStats(running, queued, admitted, rejected, timedOut, cancelled,
                waits.percentile(0.50), waits.percentile(0.95), waits.percentile(0.99), estimatesCompared,
                Duration.ofNanos((long) (estimateAbsErrorSum / n)), Duration.ofNanos((long) (estimateErrorSum / n)),
                estimateAbsErrors.percentile(0.50), estimateAbsErrors.percentile(0.95),
                estimateRelativeErrorsPpm.percentile(0.50).toNanos() / 1e6,
                estimateRelativeErrorsPpm.percentile(0.95).toNanos() / 1e6);
    }

    static Optional<Duration> toDuration(long nanos) {
        return nanos < 0 ? Optional.empty() : Optional.of(Duration.ofNanos(nanos));
    }
}
