package dev.usher.session;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadFactory;

/**
 * {@link SessionManager}'s sweep: claims expired sessions from the store in batches, delivers their
 * {@link EndReason#EXPIRED} events, then acknowledges each batch to the store; run now by
 * {@link #sweep()} and, unless the interval is zero, every interval on a {@link PeriodicTask} it owns.
 *
 * <p>A batch is acknowledged only after its events are delivered: a sweeper that dies in between leaves
 * the claims to another instance's sweeper, which delivers them after the store's claim timeout (see
 * {@link SessionStore#removeExpired}). Thread-safe; {@link #close()} stops the thread and ends a sweep under
 * way after its current batch.
 */
final class ExpirySweep implements AutoCloseable {
    private final SessionStore store;
    private final Clock clock;
    private final int batchSize;
    private final SessionEvents events;
    private final PeriodicTask task;
    private volatile boolean closed;

    ExpirySweep(SessionStore store, Clock clock, int batchSize, SessionEvents events, Duration interval,
                ThreadFactory threads) {
        this.store = store;
        this.clock = clock;
        this.batchSize = batchSize;
        this.events = events;
        this.task = interval.isZero() ? null : PeriodicTask.start("session sweeper", threads, interval, this::sweep);
    }

    /** Sweeps until a batch comes back short (or the sweep is closed); returns how many sessions it ended. */
    int sweep() {
        int total = 0;
        while (true) {
            List<Session> batch = store.removeExpired(clock.instant(), batchSize);
            List<String> delivered = new ArrayList<>(batch.size());
            for (Session s : batch) {
                events.ended(s, EndReason.EXPIRED);
                delivered.add(s.id());
            }
            // Only now may the claims go: a sweeper that dies before this line leaves them to another
            // instance's sweeper, which delivers them after the store's claim timeout.
            if (!delivered.isEmpty()) {
                store.acknowledgeExpired(delivered);
            }
            total += batch.size();
            if (batch.size() < batchSize || closed) {
                return total;
            }
        }
    }

    /** Stops the sweeper thread, if any, and waits for it. Idempotent. */
    @Override
    public void close() {
        closed = true;
        if (task != null) {
            task.close();
        }
    }
}
