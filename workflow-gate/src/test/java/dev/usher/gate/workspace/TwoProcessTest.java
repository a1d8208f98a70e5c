package dev.usher.gate.workspace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A second JVM shares the root: names stay unique across processes, and a killed writer tears nothing. */
@Tag("slow")
class TwoProcessTest {
    private static final int PER_PROCESS = 50;

    @TempDir
    Path tmp;

    @Test
    void twoProcessesAllocatingTheSameNameGetDistinctDirectories() throws Exception {
        Path root = tmp.resolve("root");
        Process child = SecondProcess.launch("allocate", root.toString(), "같은 이름", String.valueOf(PER_PROCESS));
        try (SessionManager sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
             WorkspaceAllocator allocator = WorkspaceAllocator.builder(root, sessions).sweepInterval(Duration.ZERO).build();
             BufferedReader childOut = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
             Writer childIn = child.outputWriter(StandardCharsets.UTF_8)) {
            List<Session> own = new ArrayList<>();
            for (int i = 0; i < PER_PROCESS; i++) {
                own.add(sessions.create(null, Map.of()));
            }
            assertThat(childOut.readLine()).isEqualTo("ready");
            childIn.write("go\n");
            childIn.flush();
            List<Workspace> mine = WorkspaceAllocatorTest.runConcurrently(PER_PROCESS,
                    i -> allocator.workspaceFor(own.get(i), "같은 이름"));

            List<String> theirs = new ArrayList<>();
            for (String line; !(line = childOut.readLine()).equals("done"); ) {
                assertThat(line).startsWith("dir ");
                theirs.add(line.substring(4));
            }
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(child.exitValue()).isZero();

            Set<String> all = new HashSet<>(theirs);
            mine.forEach(w -> all.add(w.name()));
            assertThat(theirs).hasSize(PER_PROCESS);
            assertThat(all).hasSize(2 * PER_PROCESS);
            try (Stream<Path> dirs = Files.list(root)) {
                assertThat(dirs.filter(p -> !p.getFileName().toString().startsWith("."))).hasSize(2 * PER_PROCESS);
            }
            try (Stream<Path> claims = Files.list(root.resolve(".usher/claims"))) {
                assertThat(claims).hasSize(2 * PER_PROCESS);
            }
        } finally {
            child.destroyForcibly();
        }
    }

    @Test
    void aWriterKilledMidWriteLeavesTheOldOrTheNewContentNeverAMix() throws Exception {
        Path root = tmp.resolve("root");
        int size = 1 << 20;
        Process child = SecondProcess.launch("rewrite", root.toString(), String.valueOf(size));
        Path dir;
        int lastCommitted = 0;
        try (BufferedReader childOut = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
             Writer childIn = child.outputWriter(StandardCharsets.UTF_8)) {
            String ready = childOut.readLine();
            assertThat(ready).startsWith("ready ");
            dir = Path.of(ready.substring(6));
            childIn.write("go\n");
            childIn.flush();
            while (lastCommitted < 8) {
                lastCommitted = Integer.parseInt(childOut.readLine().substring("committed ".length()));
            }
            child.destroyForcibly(); // SIGKILL, in the middle of some later write
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }

        byte[] content = Files.readAllBytes(dir.resolve("data.bin"));
        assertThat(content).hasSize(size);
        for (byte b : content) {
            assertThat(b).isEqualTo(content[0]);
        }
        assertThat(Byte.toUnsignedInt(content[0])).isGreaterThanOrEqualTo(lastCommitted);

        // Whatever temporary file the kill left is invisible, uncounted, and removed once stale.
        DirectoryWorkspace reopened = DirectoryWorkspace.existing(dir.getFileName().toString(), dir, "t",
                1L << 30, 100, new Counters(), Instant.now().plus(Duration.ofDays(1)));
        assertThat(reopened.list("")).containsExactly("data.bin");
        assertThat(reopened.usage().bytes()).isEqualTo(size);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(dir.resolve("data.bin"));
        }
    }
}
