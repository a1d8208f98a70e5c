package dev.usher.gate.admission;

import java.time.Duration;

/**
 * The right to run one workflow, handed out by an {@link AdmissionQueue}. Close it when the run ends,
 * successfully or not (try-with-resources): its slot goes to the next waiter and the run's duration feeds
 * the queue's wait estimates.
 *
 * <p>Thread-safe. The holder owns it; {@link #close()} is idempotent and never blocks on I/O: only the
 * first call releases the slot.
 */
public interface Permit extends AutoCloseable {
    /** The key the permit was admitted for. */
    String key();

    /** How long the ticket waited in the queue before this permit was granted (zero if admitted at once). */
    Duration waited();

    /** Releases the slot; later calls do nothing. */
    @Override
    void close();
}
