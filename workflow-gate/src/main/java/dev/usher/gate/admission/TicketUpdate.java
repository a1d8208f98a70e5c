package dev.usher.gate.admission;

import dev.usher.session.SessionIds;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * What a ticket's listener is told: an immutable snapshot of the ticket at one moment. Keys are often
 * session ids, so {@link #toString()} shows the key only redacted.
 *
 * @param kind what happened
 * @param key the ticket's key
 * @param position 1 = next to run while queued; 0 once the ticket is no longer queued
 * @param estimatedWait the estimate at that moment, as {@link Ticket#estimatedWait()} gives it: empty
 *     while no estimate exists yet, zero for {@link Kind#ADMITTED}, empty for cancelled and timed out
 */
public record TicketUpdate(Kind kind, String key, int position, Optional<Duration> estimatedWait) {

    /** The kinds of update, in the order a ticket can go through them. */
    public enum Kind {
        /** The ticket was queued (sent once, at {@code enter}). */
        QUEUED,
        /**
         * The position changed, or the estimate moved off what the last one has counted down to by now (by
         * more than a notification period or a tenth); coalesced to at most one per notification period.
         */
        POSITION_CHANGED,
        /** The ticket was admitted; its permit is in {@link Ticket#permit()}. Always sent, never coalesced. */
        ADMITTED,
        /** The ticket was cancelled while queued (also when the queue closes). */
        CANCELLED,
        /** The ticket waited longer than its timeout and left the queue. */
        TIMED_OUT
    }

    public TicketUpdate {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(estimatedWait, "estimatedWait");
    }

    @Override
    public String toString() {
        return "TicketUpdate[kind=" + kind + ", key=" + SessionIds.redact(key) + ", position=" + position
                + ", estimatedWait=" + estimatedWait + "]";
    }
}
