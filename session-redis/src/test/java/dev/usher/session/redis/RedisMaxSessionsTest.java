package dev.usher.session.redis;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.Concurrently;
import dev.usher.session.ForwardingSessionStore;
import dev.usher.session.OwnerLimitPolicy;
import dev.usher.session.Session;
import dev.usher.session.SessionLimitException;
import dev.usher.session.SessionManager;
import dev.usher.session.SessionStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * maxSessions on a server and on a cluster, with two store instances and 16 threads inserting at once:
 * exactly the limit get in, the rest get SessionLimitException naming it; every way a session leaves
 * (remove, sweep, an owner limit's trim, an id change) gives its place back.
 */
@Tag("server")
class RedisMaxSessionsTest {
    private final String prefix = RedisTestSupport.uniquePrefix("max-sessions");
    private final List<SessionStore> stores = new ArrayList<>();
    private boolean cluster;

    private SessionStore open(int maxSessions) {
        RedisSessionStore.Builder b = RedisSessionStore.builder().keyPrefix(prefix).maxSessions(maxSessions);
        SessionStore store = (cluster ? b.clusterNodes(RedisTestSupport.clusterNodes()).shards(32)
                : b.uri(RedisTestSupport.standaloneUri())).build();
        stores.add(store);
        return store;
    }

    /** The test closes its stores itself, after the managers over them. */
    private static SessionStore notClosing(SessionStore store) {
        return new ForwardingSessionStore(store) {
            @Override
            public void close() {
                // closed by cleanUp, after the managers over it
            }
        };
    }

    @AfterEach
    void cleanUp() {
        stores.forEach(SessionStore::close);
        if (cluster) {
            RedisTestSupport.deleteClusterKeys(prefix);
        } else {
            RedisTestSupport.deleteStandaloneKeys(prefix);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void maxSessionsHoldsAcrossInstancesLikeTheInMemoryStoresReject(boolean onCluster) throws Exception {
        cluster = onCluster;
        SessionStore one = open(5);
        SessionStore two = open(5);
        Instant now = Instant.now();
        Set<String> inserted = ConcurrentHashMap.newKeySet();
        AtomicInteger refused = new AtomicInteger();
        Concurrently.run(16, t -> {
            for (int i = 0; i < 4; i++) {
                SessionStore store = t % 2 == 0 ? one : two;
                Session s = new Session(store.newSessionId(null), null, now, now, Duration.ofMinutes(30),
                        now.plus(Duration.ofHours(1)), 1, Map.of());
                try {
                    assertThat(store.insert(s)).isTrue();
                    inserted.add(s.id());
                } catch (SessionLimitException e) {
                    assertThat(e.limitName()).isEqualTo("maxSessions");
                    assertThat(e.limit()).isEqualTo(5);
                    assertThat(e).hasMessageContaining("maxSessions=5");
                    refused.incrementAndGet();
                }
            }
        });
        assertThat(inserted).hasSize(5);
        assertThat(refused).hasValue(64 - 5);
        assertThat(one.count()).isEqualTo(5);

        // remove gives a place back
        assertThat(one.remove(inserted.iterator().next())).isPresent();
        try (SessionManager manager = SessionManager.builder(notClosing(two)).sweepInterval(Duration.ZERO)
                .maxSessionsPerOwner(1, OwnerLimitPolicy.END_OLDEST).build()) {
            Session first = manager.create("alice", Map.of());
            assertThatThrownBy(() -> manager.create(null, Map.of())).isInstanceOf(SessionLimitException.class)
                    .hasMessageContaining("maxSessions=5");
            // an id change keeps one place; the owner limit's trim gives the old session's place back
            Session moved = manager.changeId(first.id()).orElseThrow();
            assertThat(manager.find(moved.id())).isPresent();
            assertThat(one.remove(inserted.stream().filter(id -> one.load(id).isPresent()).findFirst().orElseThrow()))
                    .isPresent();
            Session second = manager.create("alice", Map.of());
            assertThat(manager.find(moved.id())).as("trimmed by the owner limit").isEmpty();
            assertThat(manager.create(null, Map.of())).as("the trimmed session's place is free").isNotNull();
            assertThatThrownBy(() -> manager.create(null, Map.of())).isInstanceOf(SessionLimitException.class);
            assertThat(one.count()).isEqualTo(5);
            assertThat(second.owner()).isEqualTo("alice");
        }
        // sweeping gives places back
        for (String id : inserted) {
            one.remove(id);
        }
        try (SessionManager sweeping = SessionManager.builder(notClosing(one)).sweepInterval(Duration.ZERO).build()) {
            assertThat(sweeping.sweep()).isZero();
        }
        assertThat(one.count()).isEqualTo(2);
        Instant later = Instant.now().plus(Duration.ofHours(2));
        assertThat(one.removeExpired(later, 100)).hasSize(2);
        for (int i = 0; i < 5; i++) {
            Session s = new Session(one.newSessionId(null), null, now, now, Duration.ofMinutes(30),
                    now.plus(Duration.ofHours(1)), 1, Map.of());
            assertThat(one.insert(s)).as("place %d free after the sweep", i).isTrue();
        }
    }
}
