package dev.usher.examples.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.examples.browser.ChromiumUsers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example page in real headless Chromium ({@link ChromiumUsers}): more users than runs submit at once,
 * and each page shows its place in line counting down, then the streamed answer.
 */
@Tag("server")
class ChromiumPageTest {
    @TempDir
    Path dataDir;

    @Test
    void waitingUsersSeeTheirPlaceCountDownThenTheAnswer() throws Exception {
        try (ChatServer server = ChatServer.start(Config.from(Map.of("USHER_PORT", "0", "USHER_DATA_DIR", dataDir.toString(),
                "USHER_MAX_RUNNING", "1", "USHER_TOKEN_DELAY_MS", "70")));
                ChromiumUsers users = new ChromiumUsers(dataDir)) {
            users.submitAtOnce("http://127.0.0.1:" + server.port() + "/", 3);
            ChromiumUsers.Seen seen = users.sampleUntilDone(Duration.ofMinutes(2));
            assertThat(seen.allDone()).as("every page finished; statuses seen: %s", seen.statuses()).isTrue();
            users.awaitAnswers();
            // With one run at a time and three users, someone was #2 and then #1: the count went down.
            assertThat(seen.positions()).anySatisfy(p -> assertThat(p).containsSubsequence("2", "1"));
            assertThat(seen.statuses()).anySatisfy(s -> assertThat(s).anyMatch(st -> st.matches("You are #\\d+ in line — about \\d+ s")));
            assertThat(seen.maxWaitingShown()).as("the queue panel showed waiting users").isPositive();
            // Between updates the page counts the estimate down: one place in line, several "about N s".
            assertThat(seen.statuses()).as("statuses seen").anySatisfy(s -> assertThat(s.stream()
                    .filter(st -> st.matches("You are #2 in line — about \\d+ s")).count()).isGreaterThanOrEqualTo(2));
        }
    }
}
