package dev.usher.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SessionIdsTest {

    @Test
    void redactKeepsSixCharactersOfAnIdAndNothingOfAShortString() {
        String id = SessionIds.generate();
        assertThat(SessionIds.redact(id)).isEqualTo(id.substring(0, 6) + "…").doesNotContain(id);
        assertThat(SessionIds.redact("abcdef")).isEqualTo("…");
        assertThat(SessionIds.redact("")).isEqualTo("…");
        assertThat(SessionIds.redact(null)).isEqualTo("null");
    }

    @Test
    void aPageShowsNeitherItsSessionsIdsNorItsCursorWhole() {
        String id = SessionIds.generate();
        Instant now = Instant.now();
        Session s = new Session(id, null, now, now, Duration.ofMinutes(5), now.plus(Duration.ofHours(1)), 1, Map.of());
        SessionPage page = new SessionPage(List.of(s), id);
        assertThat(page.toString()).doesNotContain(id).contains(id.substring(0, 6) + "…");
        assertThat(new SessionPage(List.of(), null).toString()).contains("nextCursor=none");
    }
}
