package dev.usher.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.examples.browser.ChromiumUsers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.WebDriver;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The shared page on the Spring Boot example in real headless Chromium (examples' {@link ChromiumUsers}):
 * more users than runs submit at once, each page shows its place in line counting down, then the streamed
 * answer.
 */
@Tag("server")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = ChatApplication.class)
class ChromiumPageTest {
    static final Path DATA = TestProperties.dataDir("chromium");

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        registry.add("usher.workspace.root", () -> DATA.resolve("workspaces").toString());
        registry.add("usher.session.jdbc.sqlite-file", () -> DATA.resolve("sessions.db").toString());
        registry.add("usher.queue.max-running", () -> "1");
        registry.add("usher.queue.initial-run-duration", () -> "2s");
        registry.add("usher.rate-limit.limits.burst.quota", () -> "100");
        registry.add("example.token-delay", () -> "70ms");
    }

    @LocalServerPort
    int port;

    @Test
    void waitingUsersSeeTheirPlaceCountDownThenTheAnswer() throws Exception {
        try (ChromiumUsers users = new ChromiumUsers(DATA)) {
            List<WebDriver> pages = users.submitAtOnce("http://127.0.0.1:" + port + "/", 3);
            ChromiumUsers.Seen seen = users.sampleUntilDone(Duration.ofMinutes(2));
            assertThat(seen.allDone()).as("every page finished; statuses seen: %s", seen.statuses()).isTrue();
            users.awaitAnswers();
            for (WebDriver page : pages) {
                assertThat(page.manage().getCookieNamed("USHER_SESSION")).isNotNull();
            }
            // With one run at a time and three users, someone was #2 and then #1: the count went down.
            assertThat(seen.positions()).anySatisfy(p -> assertThat(p).containsSubsequence("2", "1"));
            assertThat(seen.statuses()).anySatisfy(s -> assertThat(s).anyMatch(st -> st.matches("You are #\\d+ in line — about \\d+ s")));
            assertThat(seen.maxWaitingShown()).as("the queue panel showed waiting users").isPositive();
        }
    }
}
