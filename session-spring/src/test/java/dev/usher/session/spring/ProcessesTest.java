package dev.usher.session.spring;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.spring.Instances.Instance;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Three host instances in three JVMs on one store, all changing one session through the repository: one
 * is killed with SIGKILL mid-run. The others' changes are all there, the killed one's every acknowledged
 * save is there (its last, unacknowledged one may or may not be), and the session stays whole.
 */
@Tag("server")
class ProcessesTest {
    private static final int REQUESTS = 120;

    @TempDir
    Path dir;
    private Instances instances;
    private Process victim;
    private Process survivor;

    @AfterEach
    void close() throws InterruptedException {
        for (Process p : new Process[] {victim, survivor}) {
            if (p != null && p.isAlive()) {
                p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        }
        if (instances != null) {
            instances.close();
        }
    }

    private Process launch(String id, String attribute, int requests, String name) throws IOException {
        SharedStore shared = instances.shared;
        return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), SaveLoopProcess.class.getName(),
                shared.backend.name(), shared.namespace, shared.dir.toString(), id, attribute, Integer.toString(requests))
                .redirectError(dir.resolve(name + ".err").toFile())
                .start();
    }

    /** The child's stdout, line by line, on a thread of its own. */
    private static BlockingQueue<String> lines(Process p) {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    lines.add(line);
                }
            } catch (IOException e) {
                lines.add("read failed: " + e);
            }
            lines.add("<eof>");
        }, "child-stdout");
        reader.setDaemon(true);
        reader.start();
        return lines;
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"SQLITE", "POSTGRESQL", "REDIS", "REDIS_CLUSTER"})
    void aKilledInstanceLosesNoAcknowledgedChangeAndBreaksNoOtherInstance(Backend backend) throws Exception {
        instances = new Instances(backend, dir);
        Instance parent = instances.start(m -> m.maxUpdateAttempts(10_000), r -> r);
        UsherSessionRepository repository = parent.repository();
        String id = repository.createSession().getId();

        victim = launch(id, "victim", 1_000_000, "victim");
        survivor = launch(id, "survivor", REQUESTS, "survivor");
        BlockingQueue<String> victimSaid = lines(victim);
        BlockingQueue<String> survivorSaid = lines(survivor);
        assertThat(victimSaid.poll(2, TimeUnit.MINUTES)).isEqualTo("ready");
        assertThat(survivorSaid.poll(2, TimeUnit.MINUTES)).isEqualTo("ready");

        int lastAcknowledged = 0;
        for (int i = 1; i <= REQUESTS; i++) {
            UsherSpringSession s = repository.findById(id);
            s.setAttribute("parent", i);
            repository.save(s);
            if (i == REQUESTS / 3) {
                // Kill mid-run, once the victim has saved a few times amid the others' writes.
                String line;
                do {
                    line = victimSaid.poll(2, TimeUnit.MINUTES);
                    assertThat(line).as("victim output").isNotNull().isNotEqualTo("<eof>");
                    lastAcknowledged = Integer.parseInt(line);
                } while (lastAcknowledged < 10);
                // kill -9 by PID, not Process.destroyForcibly(), which also closes our end of its stdout and
                // so would lose the lines it printed just before dying.
                assertThat(new ProcessBuilder("kill", "-9", Long.toString(victim.pid())).start().waitFor()).isZero();
                assertThat(victim.waitFor(1, TimeUnit.MINUTES)).isTrue();
            }
        }
        for (String line = victimSaid.poll(1, TimeUnit.MINUTES); !"<eof>".equals(line);
             line = victimSaid.poll(1, TimeUnit.MINUTES)) {
            assertThat(line).as("victim output after the kill").isNotNull();
            lastAcknowledged = Integer.parseInt(line);
        }
        assertThat(survivor.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(survivor.exitValue()).as("survivor exit code; see survivor.err").isZero();
        List<String> survivorLines = List.copyOf(survivorSaid);
        assertThat(survivorLines).contains(Integer.toString(REQUESTS), "done");

        UsherSpringSession end = repository.findById(id);
        assertThat(end.getAttributeNames()).containsExactlyInAnyOrder("parent", "survivor", "victim");
        assertThat(end.<Integer>getAttribute("parent")).isEqualTo(REQUESTS);
        assertThat(end.<Integer>getAttribute("survivor")).isEqualTo(REQUESTS);
        assertThat(end.<Integer>getAttribute("victim")).isBetween(Math.max(lastAcknowledged, 10), lastAcknowledged + 1);
    }
}
