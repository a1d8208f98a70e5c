package dev.usher.gate;

import dev.usher.session.Session;
import java.time.Duration;
import java.util.Optional;

/**
 * Told where a queued request stands, so the host can stream it to the client. Called on the thread that
 * called {@link WorkflowGate#enter}: first when the request is queued, then whenever its position or
 * estimate changes (at most once per the queue's notification period), and also when nothing changed for
 * a {@linkplain WorkflowGate.Builder#keepAliveInterval keep-alive interval} (the same values again: a
 * "still waiting" tick, which is what lets a host notice a client that left). Never called when the
 * request is admitted at once.
 *
 * <p>If it throws (typically because the client went away and the write failed), the gate leaves the
 * queue, returns any permit granted meanwhile, and rethrows.
 */
@FunctionalInterface
public interface QueueObserver {
    void queued(Session session, int position, Optional<Duration> estimatedWait);

    /** An observer for hosts that do not stream the wait. */
    static QueueObserver ignoring() {
        return (session, position, estimatedWait) -> { };
    }
}
