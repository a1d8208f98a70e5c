package dev.usher.examples.browser;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Users of the example chat page (the same page in both examples), each in their own real headless Chromium
 * (Debian's chromium and chromium-driver, installed by scripts/test-env.sh; {@code usher.test.chromium} and
 * {@code usher.test.chromedriver} point elsewhere). Shared with examples-spring-boot through this module's
 * test-jar. Closing it quits every browser.
 */
public final class ChromiumUsers implements AutoCloseable {
    private static final String CHROMIUM = System.getProperty("usher.test.chromium", "/usr/bin/chromium");
    private static final String CHROMEDRIVER = System.getProperty("usher.test.chromedriver", "/usr/bin/chromedriver");

    /** What each page showed while it was sampled, in the order the users were opened. */
    public record Seen(List<Set<String>> positions, List<Set<String>> statuses, int maxWaitingShown, boolean allDone) {
    }

    private final Path profiles;
    private final List<WebDriver> pages = new ArrayList<>();

    /** Browser profiles go under {@code profiles}. */
    public ChromiumUsers(Path profiles) {
        this.profiles = profiles;
    }

    /** Opens {@code users} pages at {@code url}, types a prompt on each, then presses send on all of them. */
    public List<WebDriver> submitAtOnce(String url, int users) throws IOException {
        for (int i = 0; i < users; i++) {
            WebDriver page = open(i);
            page.get(url);
            page.findElement(By.id("prompt")).sendKeys("question from user " + i);
        }
        for (WebDriver page : pages) {
            page.findElement(By.id("send")).click();
        }
        return List.copyOf(pages);
    }

    /** Samples each page's place in line, status and queue panel until every page says Done, or the timeout. */
    public Seen sampleUntilDone(Duration timeout) {
        List<Set<String>> positions = new ArrayList<>();
        List<Set<String>> statuses = new ArrayList<>();
        for (int i = 0; i < pages.size(); i++) {
            positions.add(new LinkedHashSet<>());
            statuses.add(new LinkedHashSet<>());
        }
        int maxWaitingShown = 0;
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean allDone = false;
        while (!allDone && System.nanoTime() < deadline) {
            allDone = true;
            for (int i = 0; i < pages.size(); i++) {
                WebDriver page = pages.get(i);
                Object position = ((JavascriptExecutor) page)
                        .executeScript("return document.getElementById('status').dataset.position || null");
                String status = page.findElement(By.id("status")).getText();
                if (position != null && !"0".equals(position)) {
                    positions.get(i).add(position.toString());
                }
                statuses.get(i).add(status);
                maxWaitingShown = Math.max(maxWaitingShown, Integer.parseInt(page.findElement(By.id("queued")).getText()));
                allDone &= status.equals("Done");
            }
        }
        return new Seen(positions, statuses, maxWaitingShown, allDone);
    }

    /** Waits until every page shows the simulated model's answer. */
    public void awaitAnswers() {
        for (WebDriver page : pages) {
            new WebDriverWait(page, Duration.ofSeconds(5))
                    .until(d -> d.findElement(By.id("answer")).getText().contains("simulated model"));
        }
    }

    private WebDriver open(int n) throws IOException {
        assertThat(Path.of(CHROMIUM)).as("chromium is installed (scripts/test-env.sh installs it)").exists();
        assertThat(Path.of(CHROMEDRIVER)).as("chromedriver is installed").exists();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + Files.createTempDirectory(profiles, "chromium-" + n));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(Path.of(CHROMEDRIVER).toFile()).usingAnyFreePort().build();
        WebDriver driver = new ChromeDriver(service, options);
        pages.add(driver);
        return driver;
    }

    @Override
    public void close() {
        pages.forEach(WebDriver::quit);
    }
}
