package dev.usher.examples.boot;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The shared page on the Spring Boot example in real headless Chromium (Debian's chromium and
 * chromium-driver, installed by scripts/test-env.sh): more users than runs submit at once, each page shows
 * its place in line counting down, then the streamed answer.
 */
@Tag("server")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = ChatApplication.class)
class ChromiumPageTest {
    private static final String CHROMIUM = System.getProperty("usher.test.chromium", "/usr/bin/chromium");
    private static final String CHROMEDRIVER = System.getProperty("usher.test.chromedriver", "/usr/bin/chromedriver");
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
    private final List<WebDriver> browsers = new ArrayList<>();

    @AfterEach
    void stop() {
        browsers.forEach(WebDriver::quit);
    }

    private WebDriver browser(int n) throws Exception {
        assertThat(Path.of(CHROMIUM)).as("chromium is installed (scripts/test-env.sh installs it)").exists();
        assertThat(Path.of(CHROMEDRIVER)).as("chromedriver is installed").exists();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + Files.createTempDirectory(DATA, "chromium-" + n));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(Path.of(CHROMEDRIVER).toFile()).usingAnyFreePort().build();
        WebDriver driver = new ChromeDriver(service, options);
        browsers.add(driver);
        return driver;
    }

    @Test
    void waitingUsersSeeTheirPlaceCountDownThenTheAnswer() throws Exception {
        String url = "http://127.0.0.1:" + port + "/";
        int users = 3;
        List<WebDriver> pages = new ArrayList<>();
        for (int i = 0; i < users; i++) {
            WebDriver page = browser(i);
            page.get(url);
            page.findElement(By.id("prompt")).sendKeys("question from user " + i);
            pages.add(page);
        }
        for (WebDriver page : pages) {
            page.findElement(By.id("send")).click();
        }

        List<Set<String>> positions = new ArrayList<>();
        List<Set<String>> statuses = new ArrayList<>();
        for (int i = 0; i < users; i++) {
            positions.add(new LinkedHashSet<>());
            statuses.add(new LinkedHashSet<>());
        }
        int maxWaitingShown = 0;
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        boolean allDone = false;
        while (!allDone && System.nanoTime() < deadline) {
            allDone = true;
            for (int i = 0; i < users; i++) {
                JavascriptExecutor js = (JavascriptExecutor) pages.get(i);
                Object position = js.executeScript("return document.getElementById('status').dataset.position || null");
                String status = pages.get(i).findElement(By.id("status")).getText();
                if (position != null && !"0".equals(position)) {
                    positions.get(i).add(position.toString());
                }
                statuses.get(i).add(status);
                maxWaitingShown = Math.max(maxWaitingShown,
                        Integer.parseInt(pages.get(i).findElement(By.id("queued")).getText()));
                allDone &= status.equals("Done");
            }
        }
        assertThat(allDone).as("every page finished; statuses seen: %s", statuses).isTrue();
        for (WebDriver page : pages) {
            new WebDriverWait(page, Duration.ofSeconds(5)).until(d -> d.findElement(By.id("answer")).getText().contains("simulated model"));
            assertThat(page.manage().getCookieNamed("USHER_SESSION")).isNotNull();
        }
        // With one run at a time and three users, someone was #2 and then #1: the count went down.
        assertThat(positions).anySatisfy(seen -> assertThat(seen).containsSubsequence("2", "1"));
        assertThat(statuses).anySatisfy(seen -> assertThat(seen).anyMatch(s -> s.matches("You are #\\d+ in line — about \\d+ s")));
        assertThat(maxWaitingShown).as("the queue panel showed waiting users").isPositive();
    }
}
