package dev.usher.gate.background;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.workspace.WorkspaceAllocator;
import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackgroundThreadsTest {
    @TempDir
    Path tmp;

    /** A host's factory: records every thread it makes. */
    static final class RecordingFactory implements ThreadFactory {
        final List<Thread> made = new CopyOnWriteArrayList<>();

        @Override
        public Thread newThread(Runnable r) {
            Thread t = new Thread(r, "host-" + made.size());
            t.setDaemon(true);
            made.add(t);
            return t;
        }
    }

    @Test
    void aPeriodicTaskKeepsRunningAfterAFailureAndCloseStopsAndAwaitsItsThread() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch threeRuns = new CountDownLatch(3);
        RecordingFactory threads = new RecordingFactory();
        BackgroundThreads.PeriodicTask task = BackgroundThreads.everyInterval("test job", Duration.ofMillis(1), threads, () -> {
            threeRuns.countDown();
            if (runs.incrementAndGet() == 1) {
                throw new IllegalStateException("first run fails");
            }
        });
        assertThat(threeRuns.await(30, TimeUnit.SECONDS)).isTrue();
        task.close();
        assertThat(threads.made).hasSize(1);
        // The executor reports termination just before its worker thread exits.
        threads.made.get(0).join(TimeUnit.SECONDS.toMillis(30));
        assertThat(threads.made.get(0).isAlive()).isFalse();
        int after = runs.get();
        task.close(); // idempotent
        assertThat(runs.get()).isEqualTo(after);
    }

    @Test
    void theDefaultFactoryMakesNamedDaemonThreads() {
        Thread t = BackgroundThreads.daemon("usher-test").newThread(() -> { });
        assertThat(t.getName()).isEqualTo("usher-test");
        assertThat(t.isDaemon()).isTrue();
    }

    @Test
    void aNonPositiveIntervalIsRejectedNamingTheValue() {
        assertThatThrownBy(() -> BackgroundThreads.everyInterval("x", Duration.ZERO, BackgroundThreads.daemon("x"), () -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must be positive but was");
    }

    @Test
    void theCacheAndTheAllocatorTakeTheirThreadsFromTheHostsFactoryAndStopThemOnClose() throws InterruptedException {
        RecordingFactory threads = new RecordingFactory();
        try (WorkflowCache<String, AutoCloseable> cache = WorkflowCache.<String, AutoCloseable>builder(k -> () -> { })
                .maximumSize(10).expireAfterAccess(Duration.ofMinutes(1)).threadFactory(threads).build()) {
            try (var lease = cache.acquire("a")) {
                assertThat(lease.value()).isNotNull();
            }
            cache.invalidate("a").join(); // the closer thread ran
        }
        try (SessionManager sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
                WorkspaceAllocator workspaces = WorkspaceAllocator.builder(tmp.resolve("ws"), sessions)
                        .sweepInterval(Duration.ofHours(1)).threadFactory(threads).build()) {
            assertThat(workspaces.root()).isDirectory();
        }
        assertThat(threads.made).hasSizeGreaterThanOrEqualTo(3);
        for (Thread t : threads.made) {
            t.join(TimeUnit.SECONDS.toMillis(30));
            assertThat(t.isAlive()).as(t.getName()).isFalse();
        }
    }
}
