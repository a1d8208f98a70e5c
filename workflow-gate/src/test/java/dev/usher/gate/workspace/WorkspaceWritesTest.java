package dev.usher.gate.workspace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkspaceWritesTest {
    @TempDir
    Path tmp;
    SessionManager sessions;
    List<WorkspaceAllocator> allocators = new ArrayList<>();

    @BeforeEach
    void setUp() {
        sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
    }

    @AfterEach
    void tearDown() {
        allocators.forEach(WorkspaceAllocator::close);
        sessions.close();
    }

    private Workspace workspace(UnaryOperator<WorkspaceAllocator.Builder> config) {
        WorkspaceAllocator a = config.apply(WorkspaceAllocator.builder(tmp.resolve("root"), sessions)
                .sweepInterval(Duration.ZERO)).build();
        allocators.add(a);
        return a.workspaceFor(sessions.create(null, Map.of()), "writes");
    }

    /** Everything in the directory, temporary files included: what is really on disk. */
    private static List<String> onDisk(Workspace ws) throws IOException {
        try (Stream<Path> s = Files.walk(ws.directory())) {
            return s.filter(p -> !p.equals(ws.directory())).map(p -> ws.directory().relativize(p).toString()).sorted().toList();
        }
    }

    private static long bytesOnDisk(Workspace ws) throws IOException {
        try (Stream<Path> s = Files.walk(ws.directory())) {
            return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    @Test
    void aWriteOverTheByteQuotaWritesNothing() throws IOException {
        Workspace ws = workspace(b -> b.maxBytes(100));
        ws.write("a.txt", new byte[60]);

        assertThatThrownBy(() -> ws.write("b.txt", new byte[50]))
                .isInstanceOfSatisfying(QuotaExceededException.class, e -> {
                    assertThat(e.limitName()).isEqualTo("maxBytes");
                    assertThat(e.limit()).isEqualTo(100);
                    assertThat(e).hasMessageContaining("'b.txt'").hasMessageContaining("maxBytes=100");
                });
        assertThatThrownBy(() -> ws.write("new/dir/c.txt", new byte[41])).isInstanceOf(QuotaExceededException.class);
        assertThat(onDisk(ws)).containsExactly("a.txt");

        ws.write("a.txt", new byte[100]); // a replacement only needs room for the difference
        assertThat(ws.usage()).isEqualTo(new WorkspaceUsage(100, 1, 100, 10_000));
        assertThat(onDisk(ws)).containsExactly("a.txt");
    }

    @Test
    void theFileQuotaCountsFilesAndDirectories() throws IOException {
        Workspace ws = workspace(b -> b.maxFiles(3));
        ws.write("a", new byte[1]);
        ws.write("b", new byte[1]);
        assertThatThrownBy(() -> ws.write("d/c", new byte[1]))
                .isInstanceOfSatisfying(QuotaExceededException.class, e -> {
                    assertThat(e.limitName()).isEqualTo("maxFiles");
                    assertThat(e.limit()).isEqualTo(3);
                });
        assertThat(onDisk(ws)).containsExactly("a", "b");
        ws.write("c", new byte[1]);
        ws.write("a", new byte[5]); // replacing adds no file
        assertThatThrownBy(() -> ws.write("e", new byte[1])).isInstanceOf(QuotaExceededException.class);
        assertThat(ws.delete("b")).isTrue();
        ws.write("e", new byte[1]);
        assertThat(ws.usage()).isEqualTo(new WorkspaceUsage(7, 3, 1L << 30, 3));
    }

    @Test
    void anOversizedStreamIsStoppedAtTheLimitAndLeavesNothing() throws IOException {
        Workspace ws = workspace(b -> b.maxBytes(100_000));
        AtomicLong served = new AtomicLong();
        InputStream endless = new InputStream() {
            @Override
            public int read() {
                served.incrementAndGet();
                return 'x';
            }

            @Override
            public int read(byte[] b, int off, int len) {
                Arrays.fill(b, off, off + len, (byte) 'x');
                served.addAndGet(len);
                return len;
            }
        };
        assertThatThrownBy(() -> ws.write("big.bin", endless)).isInstanceOf(QuotaExceededException.class);
        assertThat(served.get()).isLessThan(100_000 + 2 * 65_536);
        assertThat(onDisk(ws)).isEmpty();
        assertThat(ws.usage().bytes()).isZero();

        assertThat(ws.write("ok.bin", new java.io.ByteArrayInputStream(new byte[99_999]))).isEqualTo(99_999);
        assertThat(ws.usage().bytes()).isEqualTo(99_999);
    }

    @Test
    void concurrentWritersNeverTogetherPassTheQuota() throws Exception {
        Workspace ws = workspace(b -> b.maxBytes(10_000).maxFiles(1_000));
        AtomicInteger rejected = new AtomicInteger();
        List<Boolean> outcomes = WorkspaceAllocatorTest.runConcurrently(64, i -> {
            try {
                ws.write("dir" + (i % 4) + "/file" + i, new byte[1_000]);
                return true;
            } catch (QuotaExceededException e) {
                rejected.incrementAndGet();
                return false;
            }
        });
        long succeeded = outcomes.stream().filter(x -> x).count();
        assertThat(succeeded).isEqualTo(10);
        assertThat(rejected.get()).isEqualTo(54);
        assertThat(bytesOnDisk(ws)).isEqualTo(10_000).isEqualTo(ws.usage().bytes());
        assertThat((long) onDisk(ws).size()).isEqualTo(ws.usage().entries());
        assertThat(onDisk(ws)).noneMatch(n -> n.contains(UserPaths.TEMP_PREFIX));
    }

    @Test
    void readersNeverSeeATornFileWhileWritersReplaceIt() throws Exception {
        Workspace ws = workspace(b -> b);
        int size = 256 * 1024;
        ws.write("shared.bin", filled(size, (byte) 0));
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger reads = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<?>> readers = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                readers.add(pool.submit(() -> {
                    while (writing.get() || reads.get() < 10) {
                        byte[] seen = ws.read("shared.bin");
                        assertThat(seen).hasSize(size);
                        for (byte b : seen) {
                            if (b != seen[0]) {
                                throw new AssertionError("torn read: bytes " + seen[0] + " and " + b);
                            }
                        }
                        reads.incrementAndGet();
                    }
                    return null;
                }));
            }
            List<Future<?>> writers = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                byte value = (byte) (w + 1);
                writers.add(pool.submit(() -> {
                    for (int i = 0; i < 15; i++) {
                        ws.write("shared.bin", filled(size, value));
                    }
                    return null;
                }));
            }
            for (Future<?> f : writers) {
                f.get();
            }
            writing.set(false);
            for (Future<?> f : readers) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(onDisk(ws)).containsExactly("shared.bin");
        assertThat(ws.usage()).isEqualTo(new WorkspaceUsage(size, 1, 1L << 30, 10_000));
    }

    @Test
    void reopeningCountsWhatIsThereAndClearsStaleTemporaryFiles() throws IOException {
        Workspace ws = workspace(b -> b);
        ws.write("a/b.txt", new byte[10]);
        Path leftover = ws.directory().resolve("a/" + UserPaths.TEMP_PREFIX + "crashed");
        Files.write(leftover, new byte[500]);
        Files.setLastModifiedTime(leftover, java.nio.file.attribute.FileTime.fromMillis(0));

        DirectoryWorkspace reopened = DirectoryWorkspace.existing(ws.name(), ws.directory(), "t", 1000, 1000,
                new Counters(), java.time.Instant.now().minus(Duration.ofMinutes(10)));
        assertThat(reopened.usage()).isEqualTo(new WorkspaceUsage(10, 2, 1000, 1000));
        assertThat(leftover).doesNotExist();
        assertThat(reopened.list("a")).containsExactly("b.txt");
    }

    private static byte[] filled(int size, byte value) {
        byte[] b = new byte[size];
        Arrays.fill(b, value);
        return b;
    }
}
