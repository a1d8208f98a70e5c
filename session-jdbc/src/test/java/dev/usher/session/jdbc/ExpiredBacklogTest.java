package dev.usher.session.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.EndReason;
import dev.usher.session.ForwardingSessionStore;
import dev.usher.session.Session;
import dev.usher.session.SessionAttribute;
import dev.usher.session.SessionListener;
import dev.usher.session.SessionManager;
import dev.usher.session.SessionStore;
import dev.usher.session.TestClock;
import dev.usher.session.jdbc.JdbcSessionStore.Dialect;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A backlog of 100,000 expired sessions (a host that was down for a day) is swept in batches of the
 * manager's batch size, each session ended once, while a writer keeps updating a live session throughout.
 */
@Tag("server")
class ExpiredBacklogTest {
    private static final int BACKLOG = 100_000;
    private static final int BATCH = 500;
    private static final SessionAttribute<Integer> COUNTER = SessionAttribute.ofInt("counter");

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void aBacklogIsSweptInBatchesWithoutBlockingWriters(Dialect dialect) throws Exception {
        TestClock clock = new TestClock();
        try (TestEngine engine = TestEngine.create(dialect, dir)) {
            BatchRecordingStore store = new BatchRecordingStore(engine.open());
            Instant longAgo = clock.instant().minus(Duration.ofDays(1));
            List<Session> backlog = new ArrayList<>(BACKLOG);
            for (int i = 0; i < BACKLOG; i++) {
                backlog.add(new Session("expired-" + i, i % 50 == 0 ? "owner" + i % 7 : null, longAgo, longAgo,
                        Duration.ofMinutes(30), longAgo.plus(Duration.ofHours(12)), 1, Map.of("i", "" + i)));
            }
            engine.bulkInsert(backlog);

            Set<String> ended = ConcurrentHashMap.newKeySet();
            List<String> endedTwice = new CopyOnWriteArrayList<>();
            try (SessionManager manager = SessionManager.builder(store).clock(clock).sweepInterval(Duration.ZERO)
                    .sweepBatchSize(BATCH).touchThreshold(0).build()) {
                manager.addListener(new SessionListener() {
                    @Override
                    public void ended(Session session, EndReason reason) {
                        if (!ended.add(session.id())) {
                            endedTwice.add(session.id());
                        }
                    }
                });
                Session live = manager.create("writer", Map.of());
                AtomicBoolean sweeping = new AtomicBoolean(true);
                ExecutorService writer = Executors.newSingleThreadExecutor();
                Future<Integer> writes = writer.submit(() -> {
                    int n = 0;
                    while (sweeping.get() || n == 0) {
                        manager.update(live.id(), x -> x.withAttribute(COUNTER, x.attribute(COUNTER).orElse(0) + 1)).orElseThrow();
                        n++;
                    }
                    return n;
                });

                int swept = manager.sweep();
                sweeping.set(false);
                int written = writes.get(5, TimeUnit.MINUTES);
                writer.shutdown();

                assertThat(swept).isEqualTo(BACKLOG);
                assertThat(ended).hasSize(BACKLOG);
                assertThat(endedTwice).isEmpty();
                assertThat(store.batchSizes).allSatisfy(size -> assertThat(size).isLessThanOrEqualTo(BATCH));
                assertThat(store.batchSizes).hasSizeGreaterThanOrEqualTo(BACKLOG / BATCH);
                assertThat(manager.find(live.id()).orElseThrow().attribute(COUNTER)).contains(written);
                assertThat(store.count()).isEqualTo(1);
            }
        }
    }

    /** Records the size of every removeExpired batch, to show the sweep never takes more than one batch at a time. */
    private static final class BatchRecordingStore extends ForwardingSessionStore {
        final List<Integer> batchSizes = new CopyOnWriteArrayList<>();

        BatchRecordingStore(SessionStore delegate) {
            super(delegate);
        }

        @Override
        public List<Session> removeExpired(Instant now, int limit) {
            List<Session> batch = super.removeExpired(now, limit);
            batchSizes.add(batch.size());
            return batch;
        }
    }
}
