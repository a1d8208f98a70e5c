package dev.usher.session;

import java.util.List;

/**
 * One page of a {@link SessionStore#list} listing. A store's cursor usually names the last id listed, so
 * {@link #toString()} shows neither it nor any whole id.
 *
 * @param sessions   the sessions of this page
 * @param nextCursor the cursor of the next page, or {@code null} when the listing is complete
 */
public record SessionPage(List<Session> sessions, String nextCursor) {
    public SessionPage {
        sessions = List.copyOf(sessions);
    }

    public boolean hasMore() {
        return nextCursor != null;
    }

    @Override
    public String toString() {
        return "SessionPage[sessions=" + sessions + ", nextCursor=" + (nextCursor == null ? "none" : SessionIds.redact(nextCursor)) + "]";
    }
}
