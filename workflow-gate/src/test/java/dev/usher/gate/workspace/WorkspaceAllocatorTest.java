package dev.usher.gate.workspace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import dev.usher.session.TestClock;
import dev.usher.session.memory.InMemorySessionStore;
import java.io.IOException;
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
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkspaceAllocatorTest {
    @TempDir
    Path tmp;
    Path root;
    TestClock clock;
    SessionManager sessions;
    WorkspaceAllocator allocator;

    @BeforeEach
    void setUp() {
        root = tmp.resolve("workspaces");
        clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
        sessions = SessionManager.builder(new InMemorySessionStore()).clock(clock)
                .idleTimeout(Duration.ofDays(1)).absoluteTimeout(Duration.ofDays(2))
                .sweepInterval(Duration.ZERO).build();
        allocator = allocator(b -> b);
    }

    @AfterEach
    void tearDown() {
        allocator.close();
        sessions.close();
    }

    private WorkspaceAllocator allocator(java.util.function.UnaryOperator<WorkspaceAllocator.Builder> config) {
        return config.apply(WorkspaceAllocator.builder(root, sessions).clock(clock).sweepInterval(Duration.ZERO)).build();
    }

    private Session newSession() {
        return sessions.create(null, Map.of());
    }

    private Session reload(Session s) {
        return sessions.find(s.id()).orElseThrow();
    }

    private List<String> workspaceDirs() throws IOException {
        try (Stream<Path> s = Files.list(root)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        }
    }

    @Test
    void theSessionKeepsItsWorkspaceAcrossCallsAndRestarts() {
        Session s = newSession();
        Workspace first = allocator.workspaceFor(s, "주간 보고서");
        first.write("a.txt", "hello".getBytes(StandardCharsets.UTF_8));

        Session reloaded = reload(s);
        assertThat(reloaded.attribute(WorkspaceAllocator.NAME_ATTRIBUTE)).contains("주간 보고서");
        assertThat(allocator.workspaceFor(reloaded, "something else").directory()).isEqualTo(first.directory());

        // A new allocator (a restart, or another instance on the same root and store) finds it too.
        try (WorkspaceAllocator other = allocator(b -> b)) {
            Workspace again = other.workspaceFor(reloaded, "something else");
            assertThat(again.directory()).isEqualTo(first.directory());
            assertThat(again.read("a.txt")).asString(StandardCharsets.UTF_8).isEqualTo("hello");
            assertThat(again.usage().bytes()).isEqualTo(5);
            assertThat(other.find(reloaded)).isPresent();
        }
        assertThat(allocator.stats().allocated()).isEqualTo(1);
        assertThat(allocator.stats().reused()).isEqualTo(1);
    }

    @Test
    void theWorkspaceFollowsTheSessionThroughAnIdChange() {
        Session s = newSession();
        Workspace w = allocator.workspaceFor(s, "rotated");
        Session renamed = sessions.changeId(s.id()).orElseThrow();

        assertThat(allocator.workspaceFor(renamed, "other").directory()).isEqualTo(w.directory());
        clock.advance(Duration.ofHours(1));
        assertThat(allocator.sweepOrphans()).isZero();
        assertThat(w.directory()).isDirectory();
        assertThat(allocator.release(renamed)).isTrue();
    }

    @Test
    void sameNameGetsSuffixesAndCaseOnlyDifferencesDoNotCollide() throws IOException {
        List<String> names = new ArrayList<>();
        for (String suggestion : List.of("Report", "report", "REPORT", "Report", "report_1")) {
            names.add(allocator.workspaceFor(newSession(), suggestion).name());
        }
        assertThat(names).containsExactly("Report", "report_1", "REPORT_2", "Report_3", "report_1_1");
        assertThat(workspaceDirs()).hasSize(5);
        Set<String> folded = new HashSet<>();
        for (String n : workspaceDirs()) {
            assertThat(folded.add(n.toLowerCase())).as("%s differs from another only in case", n).isTrue();
        }
    }

    @Test
    void hundredThreadsAllocatingOneNameGetHundredDistinctDirectories() throws Exception {
        List<Session> many = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            many.add(newSession());
        }
        List<Workspace> results = runConcurrently(100, i -> allocator.workspaceFor(many.get(i), "프로젝트"));

        Set<Path> dirs = new HashSet<>();
        for (Workspace w : results) {
            dirs.add(w.directory());
        }
        assertThat(dirs).hasSize(100);
        assertThat(workspaceDirs()).hasSize(100);
        for (int i = 0; i < 100; i++) {
            assertThat(reload(many.get(i)).attribute(WorkspaceAllocator.NAME_ATTRIBUTE)).contains(results.get(i).name());
        }
    }

    @Test
    void hundredThreadsAllocatingForOneSessionShareOneDirectoryAndLeaveNoOther() throws Exception {
        Session s = newSession();
        // Two allocators race too, as two instances would.
        try (WorkspaceAllocator second = allocator(b -> b)) {
            List<Workspace> results = runConcurrently(100, i -> (i % 2 == 0 ? allocator : second).workspaceFor(s, "shared"));
            Set<Path> dirs = new HashSet<>();
            results.forEach(w -> dirs.add(w.directory()));
            assertThat(dirs).hasSize(1);
            assertThat(workspaceDirs()).containsExactly(dirs.iterator().next().getFileName().toString());
            assertThat(claimCount()).isEqualTo(1);
        }
    }

    @Test
    void aSessionThatEndedGetsNoWorkspaceAndLeavesNothingBehind() throws IOException {
        Session s = newSession();
        sessions.end(s.id());
        assertThatThrownBy(() -> allocator.workspaceFor(s, "late"))
                .isInstanceOf(WorkspaceException.class).hasMessageContaining("does not exist or has ended");
        assertThat(workspaceDirs()).isEmpty();
        assertThat(claimCount()).isZero();
    }

    @Test
    void aMappingWhoseDirectoryIsGoneIsReplaced() throws IOException {
        Session s = newSession();
        Workspace w = allocator.workspaceFor(s, "docs");
        DurableFiles.deleteTree(w.directory());
        Workspace replacement = allocator.workspaceFor(reload(s), "docs");
        assertThat(Files.isDirectory(replacement.directory())).isTrue();
        assertThat(reload(s).attribute(WorkspaceAllocator.NAME_ATTRIBUTE)).contains(replacement.name());
    }

    @Test
    void aTamperedMappingNeverLeadsOutsideTheRoot() throws IOException {
        Files.createDirectories(tmp.resolve("etc"));
        Session s = newSession();
        Session tampered = sessions.update(s.id(), x -> x.withAttribute(WorkspaceAllocator.NAME_ATTRIBUTE, "../etc")
                .withAttribute(WorkspaceAllocator.TOKEN_ATTRIBUTE, "t")).orElseThrow();
        Workspace w = allocator.workspaceFor(tampered, "mine");
        assertThat(w.directory().getParent()).isEqualTo(root.toRealPath());
        assertThat(w.name()).isEqualTo("mine");
        assertThat(allocator.release(tampered)).isFalse();
        assertThat(tmp.resolve("etc")).isDirectory();
    }

    @Test
    void releaseDeletesOnceAndIsSafeToRepeat() throws IOException {
        Session s = newSession();
        Workspace w = allocator.workspaceFor(s, "temp");
        w.write("deep/a/b/c.txt", new byte[100]);
        Session mapped = reload(s);

        assertThat(allocator.release(mapped)).isTrue();
        assertThat(allocator.release(mapped)).isFalse();
        assertThat(workspaceDirs()).isEmpty();
        assertThat(claimCount()).isZero();
        assertThat(root.resolve(".usher/trash")).isEmptyDirectory();
        assertThatThrownBy(() -> w.read("deep/a/b/c.txt")).isInstanceOf(WorkspaceException.class)
                .hasMessageContaining("released");
        assertThat(allocator.stats().released()).isEqualTo(1);
    }

    @Test
    void aRepeatedReleaseNeverTouchesALaterWorkspaceWithTheSameName() {
        Session first = newSession();
        allocator.workspaceFor(first, "name");
        Session firstMapped = reload(first);
        assertThat(allocator.release(firstMapped)).isTrue();

        Session second = newSession();
        Workspace reused = allocator.workspaceFor(second, "name");
        assertThat(reused.name()).isEqualTo("name");
        reused.write("keep.txt", new byte[] {1});

        assertThat(allocator.release(firstMapped)).isFalse();
        assertThat(reused.read("keep.txt")).containsExactly(1);
    }

    @Test
    void concurrentReleasesRemoveOnlyTheReleasedWorkspaceWhileItsNameIsReallocated() throws Exception {
        Session old = newSession();
        allocator.workspaceFor(old, "contested");
        Session mapped = reload(old);
        List<Session> newcomers = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            newcomers.add(newSession());
        }
        try (WorkspaceAllocator second = allocator(b -> b)) {
            List<Object> results = runConcurrently(40, i -> {
                WorkspaceAllocator a = i % 2 == 0 ? allocator : second;
                return i < 20 ? (Object) a.release(mapped) : a.workspaceFor(newcomers.get(i - 20), "contested");
            });
            assertThat(results.subList(0, 20)).filteredOn(Boolean.TRUE::equals).hasSize(1);
            Set<Path> dirs = new HashSet<>();
            for (Object o : results.subList(20, 40)) {
                Workspace w = (Workspace) o;
                assertThat(w.directory()).isDirectory();
                dirs.add(w.directory());
            }
            assertThat(dirs).hasSize(20);
            assertThat(workspaceDirs()).hasSize(20);
            assertThat(claimCount()).isEqualTo(20);
        }
    }

    @Test
    void contradictorySettingsAreRejectedNamingTheSetting() {
        assertThatThrownBy(() -> WorkspaceAllocator.builder(root, sessions).maxBytes(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("maxBytes must be at least 1 but was 0");
        assertThatThrownBy(() -> WorkspaceAllocator.builder(root, sessions).maxFiles(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("maxFiles must be at least 1 but was 0");
        assertThatThrownBy(() -> allocator(b -> b.archiveTo(root.resolve("archive"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("archiveTo")
                .hasMessageContaining("must not be inside the root");
        assertThatThrownBy(() -> WorkspaceAllocator.builder(root, sessions).sweepInterval(Duration.ofSeconds(-5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("sweepInterval must not be negative but was -5s");
    }

    @Test
    void releaseCanArchiveInsteadOfDeleting() throws IOException {
        Path archive = tmp.resolve("archive");
        try (WorkspaceAllocator archiving = allocator(b -> b.archiveTo(archive))) {
            Session s = newSession();
            archiving.workspaceFor(s, "보관").write("result.txt", "done".getBytes(StandardCharsets.UTF_8));
            assertThat(archiving.release(reload(s))).isTrue();
            assertThat(archiving.release(reload(s))).isFalse();
            try (Stream<Path> found = Files.walk(archive)) {
                List<Path> files = found.filter(Files::isRegularFile).toList();
                assertThat(files).hasSize(1);
                assertThat(files.get(0).getParent().getFileName().toString()).isEqualTo("보관");
                assertThat(files.get(0)).hasContent("done");
            }
        }
        assertThat(workspaceDirs()).isEmpty();
    }

    @Test
    void theWorkspaceIsReleasedWhenTheSessionEnds() throws IOException {
        Session s = newSession();
        allocator.workspaceFor(s, "ends");
        assertThat(workspaceDirs()).containsExactly("ends");
        sessions.end(s.id());
        assertThat(workspaceDirs()).isEmpty();

        Session expiring = newSession();
        allocator.workspaceFor(expiring, "expires");
        clock.advance(Duration.ofDays(3));
        sessions.sweep();
        assertThat(workspaceDirs()).isEmpty();
    }

    @Test
    void theSweepReleasesOrphansButOnlyAfterTheGracePeriod() throws IOException {
        allocator.close(); // its listener would release at session end; this test is about what a crash leaves
        try (WorkspaceAllocator noListener = allocator(b -> b.releaseWhenSessionEnds(false)
                .orphanGracePeriod(Duration.ofMinutes(10)))) {
            Session live = newSession();
            noListener.workspaceFor(live, "live").write("x", new byte[3]);
            Session dead = newSession();
            noListener.workspaceFor(dead, "dead").write("x", new byte[3]);
            sessions.end(dead.id()); // as if the process had crashed before releasing
            // A crash between creating the directory and completing its claim:
            Files.createDirectory(root.resolve("half-made"));
            // Someone else's data in the root is never deleted:
            Files.createDirectories(root.resolve("foreign"));
            Files.writeString(root.resolve("foreign/file"), "x");
            setOld(root.resolve("half-made"));
            setOld(root.resolve("foreign"));

            assertThat(noListener.sweepOrphans()).as("within the grace period").isEqualTo(1); // only half-made is old
            assertThat(workspaceDirs()).containsExactly("dead", "foreign", "live");

            clock.advance(Duration.ofMinutes(11));
            assertThat(noListener.sweepOrphans()).isEqualTo(1);
            assertThat(workspaceDirs()).containsExactly("foreign", "live");
            assertThat(noListener.workspaceFor(reload(live), "x").read("x")).hasSize(3);
            assertThat(noListener.stats().orphansSwept()).isEqualTo(2);
        }
    }

    @Test
    void aStaleMappingInALiveSessionDoesNotHideTheNewerOwnerFromTheSweep() throws IOException {
        Session first = newSession();
        allocator.workspaceFor(first, "name");
        assertThat(allocator.release(reload(first))).isTrue(); // first lives on, its mapping now stale
        Session second = newSession();
        Workspace current = allocator.workspaceFor(second, "name");
        assertThat(current.name()).isEqualTo("name");
        current.write("keep.txt", new byte[] {7});

        clock.advance(Duration.ofHours(1));
        assertThat(allocator.sweepOrphans()).isZero();
        assertThat(current.read("keep.txt")).containsExactly(7);

        // The stale session asks again: it gets a new directory, not the other session's.
        Workspace renewed = allocator.workspaceFor(reload(first), "name");
        assertThat(renewed.name()).isEqualTo("name_1");
    }

    private void setOld(Path p) throws IOException {
        Files.setLastModifiedTime(p, java.nio.file.attribute.FileTime.from(clock.instant().minus(Duration.ofDays(1))));
    }

    private long claimCount() throws IOException {
        try (Stream<Path> s = Files.list(root.resolve(".usher/claims"))) {
            return s.count();
        }
    }

    interface IndexedTask<T> {
        T run(int index) throws Exception;
    }

    /** Runs {@code n} tasks on {@code n} threads released together; rethrows the first failure. */
    static <T> List<T> runConcurrently(int n, IndexedTask<T> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int index = i;
                Callable<T> c = () -> {
                    start.await();
                    return task.run(index);
                };
                futures.add(pool.submit(c));
            }
            start.countDown();
            List<T> results = new ArrayList<>();
            for (Future<T> f : futures) {
                results.add(f.get());
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }
}
