package dev.usher.examples.readme;

import dev.usher.session.EndReason;
import dev.usher.session.OwnerLimitPolicy;
import dev.usher.session.Session;
import dev.usher.session.SessionAttribute;
import dev.usher.session.SessionListener;
import dev.usher.session.SessionManager;
import dev.usher.session.SessionStore;
import dev.usher.session.SessionStoreContract;
import dev.usher.session.ForwardingSessionStore;
import dev.usher.session.jdbc.JdbcSessionStore;
import dev.usher.session.memory.InMemorySessionStore;
import dev.usher.session.redis.RedisSessionStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import javax.sql.DataSource;

/** The README's session snippets, compiled. {@link ReadmeSnippetsTest} checks the README shows this text. */
final class SessionsApi {
    static final SessionAttribute<Integer> VISITS = SessionAttribute.ofInt("visits");

    private SessionsApi() {
    }

    static void theSessionApiAlone() {
        SessionManager sessions = SessionManager.builder(new InMemorySessionStore())   // or JdbcSessionStore, RedisSessionStore
                .idleTimeout(Duration.ofMinutes(30))
                .maxSessionsPerOwner(5, OwnerLimitPolicy.END_OLDEST)
                .listener(new SessionListener() {
                    @Override public void ended(Session s, EndReason reason) { /* close what the session held */ }
                })
                .build();
        Session s = sessions.create("alice", Map.of("plan", "pro"));             // id: 256 random bits, base64url
        sessions.touch(s.id());                                                  // per request: sliding idle expiry
        sessions.update(s.id(), x -> x.withAttribute(VISITS, x.attribute(VISITS).orElse(0) + 1)); // atomic, no lost update
        Session rotated = sessions.changeId(s.id()).orElseThrow();              // on login: defeats session fixation
    }

    /** A store under test: stands for the reader's own backend. */
    static class MyStore extends ForwardingSessionStore {
        MyStore(String url) {
            super(new InMemorySessionStore());
        }
    }

    // Nested, so that Surefire does not run the contract suite against the stand-in store.
    abstract static class Contract {
        static String testUrl = "memory:";

        class MyStoreContractTest extends SessionStoreContract {
            @Override protected SessionStore createStore() { return new MyStore(testUrl); }      // fresh and empty
            @Override protected SessionStore createPeerStore() { return new MyStore(testUrl); }  // same data, own client
        }
    }

    static void sql(String secret, DataSource hostDataSource) {
        SessionStore local = JdbcSessionStore.sqlite(Path.of("/var/lib/app/sessions.db"));   // embedded default

        SessionStore shared = JdbcSessionStore.builder()                                      // PostgreSQL, own pool
                .jdbcUrl("jdbc:postgresql://db:5432/app")
                .credentials("app", secret)
                .build();

        SessionStore onHostPool = JdbcSessionStore.builder().dataSource(hostDataSource).build(); // the host's pool, never closed by Usher

        SessionManager sessions = SessionManager.builder(shared).build();                     // the manager owns and closes the store
    }

    static void redis() {
        SessionStore store = RedisSessionStore.builder()
                .uri("redis://127.0.0.1:6379")          // or .clusterNodes(Set.of(HostAndPort.from("10.0.0.1:7000")))
                .keyPrefix("myapp:session:")
                .build();
        SessionManager sessions = SessionManager.builder(store).build();   // the manager closes the store
    }
}
