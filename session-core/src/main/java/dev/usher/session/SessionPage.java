package dev.usher.session;

import java.util.List;

/**
 * One page of a {@link SessionStore#list} listing.
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
}
