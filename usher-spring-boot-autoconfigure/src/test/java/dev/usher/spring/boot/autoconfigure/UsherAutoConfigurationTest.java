package dev.usher.spring.boot.autoconfigure;

import org.springframework.boot.test.context.FilteredClassLoader;
import dev.usher.gate.redis.RedisAdmissionQueue;
import dev.usher.gate.admission.Ticket;
import dev.usher.gate.admission.Permit;
import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.usher.gate.GateOutcome;
import dev.usher.gate.GateRequest;
import dev.usher.gate.QueueObserver;
import dev.usher.gate.WorkflowGate;
import dev.usher.gate.WorkflowGateMetrics;
import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.ratelimit.Limit;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.gate.workspace.WorkspaceAllocator;
import dev.usher.servlet.UsherFilter;
import dev.usher.session.SessionManager;
import dev.usher.session.SessionStore;
import dev.usher.session.jdbc.JdbcSessionStore;
import dev.usher.session.memory.InMemorySessionStore;
import dev.usher.session.redis.RedisSessionStore;
import jakarta.servlet.DispatcherType;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Every condition of {@link UsherAutoConfiguration}, against real SQLite files, PostgreSQL and Redis. */
@Tag("server")
class UsherAutoConfigurationTest {
    @TempDir
    Path dir;

    private ApplicationContextRunner runner() {
        return new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(UsherAutoConfiguration.class))
                .withUserConfiguration(TestWorkflow.Loader.class)
                .withPropertyValues("usher.workspace.root=" + dir.resolve("workspaces"),
                        "usher.session.jdbc.sqlite-file=" + dir.resolve("db/sessions.db"));
    }

    /** The messages of the start-up failure and all its causes, one string. */
    private static String failure(org.springframework.boot.test.context.assertj.ApplicationContextAssertProvider<?> context) {
        assertThat(context).hasFailed();
        List<String> messages = new ArrayList<>();
        for (Throwable t = context.getStartupFailure(); t != null; t = t.getCause()) {
            messages.add(t.getClass().getSimpleName() + ": " + t.getMessage());
        }
        return String.join("\n caused by ", messages);
    }

    @Test
    void defaultsGiveSessionsInTheSqliteFileAndEveryComponent() {
        runner().run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(SessionStore.class)).isInstanceOfSatisfying(JdbcSessionStore.class,
                    store -> assertThat(store.dialect()).isEqualTo(JdbcSessionStore.Dialect.SQLITE));
            assertThat(Files.exists(dir.resolve("db/sessions.db"))).isTrue();
            assertThat(context).hasSingleBean(SessionManager.class).hasSingleBean(AdmissionQueue.class)
                    .hasSingleBean(RateLimiter.class).hasSingleBean(WorkspaceAllocator.class)
                    .hasSingleBean(WorkflowCache.class).hasSingleBean(WorkflowGate.class)
                    .hasSingleBean(WorkflowGateMetrics.class).doesNotHaveBean(UsherFilter.class);
            WorkflowGate<?> gate = context.getBean(WorkflowGate.class);
            assertThat(gate.rateLimiter()).isPresent();
            assertThat(gate.workspaces()).isPresent();
            assertThat(context.getBean(RateLimiter.class).limits()).extracting(Limit::name).containsExactly("minute", "burst");
            // the session really lands in the file
            String id = context.getBean(SessionManager.class).create(null, Map.of()).id();
            assertThat(context.getBean(SessionManager.class).find(id)).isPresent();
        });
    }

    @Test
    void memoryStore() {
        runner().withPropertyValues("usher.session.store=memory").run(context ->
                assertThat(context.getBean(SessionStore.class)).isInstanceOf(InMemorySessionStore.class));
    }

    @Test
    void jdbcStoreUsesTheApplicationsDataSource() {
        String table = TestServers.unique("usher_boot");
        runner().withUserConfiguration(PostgresDataSource.class)
                .withPropertyValues("usher.session.jdbc.table-name=" + table)
                .run(context -> {
                    assertThat(context.getBean(SessionStore.class)).isInstanceOfSatisfying(JdbcSessionStore.class,
                            store -> assertThat(store.dialect()).isEqualTo(JdbcSessionStore.Dialect.POSTGRESQL));
                    context.getBean(SessionManager.class).create(null, Map.of());
                    try (Connection c = context.getBean(DataSource.class).getConnection();
                         ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM " + table)) {
                        rs.next();
                        assertThat(rs.getLong(1)).isEqualTo(1);
                    }
                    assertThat(Files.exists(dir.resolve("db/sessions.db"))).isFalse();
                    try (Connection c = context.getBean(DataSource.class).getConnection()) {
                        c.createStatement().execute("DROP TABLE " + table);
                        c.createStatement().execute("DROP TABLE IF EXISTS " + table + "_schema_version");
                    }
                });
    }

    @Test
    void jdbcStoreByUrlOnPostgres() {
        String table = TestServers.unique("usher_boot");
        runner().withPropertyValues("usher.session.jdbc.url=" + TestServers.POSTGRES_URL,
                        "usher.session.jdbc.username=" + TestServers.POSTGRES_USER,
                        "usher.session.jdbc.table-name=" + table)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(SessionStore.class)).isInstanceOfSatisfying(JdbcSessionStore.class,
                            store -> assertThat(store.dialect()).isEqualTo(JdbcSessionStore.Dialect.POSTGRESQL));
                    String id = context.getBean(SessionManager.class).create(null, Map.of()).id();
                    assertThat(context.getBean(SessionManager.class).find(id)).isPresent();
                    dropTables(table);
                });
    }

    @Test
    void redisStore() {
        runner().withPropertyValues("usher.session.store=redis", "usher.session.redis.uri=" + TestServers.REDIS_URI,
                        "usher.session.redis.key-prefix=" + TestServers.unique("usher-boot") + ":")
                .run(context -> {
                    assertThat(context.getBean(SessionStore.class)).isInstanceOf(RedisSessionStore.class);
                    SessionManager sessions = context.getBean(SessionManager.class);
                    String id = sessions.create(null, Map.of()).id();
                    assertThat(sessions.find(id)).isPresent();
                    sessions.end(id);
                });
    }

    @Test
    void redisStoreWithoutUriFailsNamingTheProperty() {
        runner().withPropertyValues("usher.session.store=redis").run(context ->
                assertThat(failure(context)).contains("usher.session.redis.uri is required when usher.session.store=redis"));
    }

    @Test
    void unknownStoreTypeFailsNamingTheProperty() {
        runner().withPropertyValues("usher.session.store=mongo").run(context ->
                assertThat(failure(context)).contains("usher.session.store").contains("mongo"));
    }

    @Test
    void negativeSizesFailNamingPropertyAndValue() {
        runner().withPropertyValues("usher.queue.max-queued=-1").run(context ->
                assertThat(failure(context)).contains("usher.queue.max-queued must be at least 0 but was -1"));
        runner().withPropertyValues("usher.queue.max-running=0").run(context ->
                assertThat(failure(context)).contains("usher.queue.max-running must be at least 1 but was 0"));
        runner().withPropertyValues("usher.workspace.max-bytes=-5").run(context ->
                assertThat(failure(context)).contains("usher.workspace.max-bytes must be at least 1 but was -5"));
        runner().withPropertyValues("usher.rate-limit.limits.minute.quota=-3").run(context ->
                assertThat(failure(context)).contains("usher.rate-limit.limits.minute.quota must be at least 1 but was -3"));
        runner().withPropertyValues("usher.session.idle-timeout=-10s").run(context ->
                assertThat(failure(context)).contains("usher.session.idle-timeout must be at least 1s but was -10s"));
        runner().withPropertyValues("usher.queue.max-running=2", "usher.queue.max-running-per-session=3").run(context ->
                assertThat(failure(context)).contains("usher.queue.max-running-per-session must be at most usher.queue.max-running (2) but was 3"));
    }

    @Test
    void unreachableDatabaseFailsNamingThePropertyAndTheCause() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        runner().withPropertyValues("usher.session.jdbc.url=jdbc:postgresql://127.0.0.1:" + closedPort + "/usher_test",
                        "usher.session.jdbc.timeout=1s")
                .run(context -> assertThat(failure(context)).contains("usher.session.jdbc.url could not be used")
                        .contains("could not open the session store database").contains("Connection refused"));
    }

    @Test
    void unreachableApplicationDataSourceFailsNamingItAndTheCause() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(
                        org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration.class, UsherAutoConfiguration.class))
                .withUserConfiguration(TestWorkflow.Loader.class)
                .withPropertyValues("usher.workspace.root=" + dir,
                        "spring.datasource.url=jdbc:postgresql://127.0.0.1:" + closedPort + "/usher_test",
                        "spring.datasource.hikari.connection-timeout=1000")
                .run(context -> assertThat(failure(context))
                        .contains("spring.datasource (the application's DataSource, used by usher.session.store=jdbc) could not be used")
                        .contains("Connection refused"));
    }

    @Test
    void badTableNameFailsNamingTheProperty() {
        runner().withPropertyValues("usher.session.jdbc.table-name=Robert'); DROP TABLE x;--").run(context ->
                assertThat(failure(context)).contains("usher.session.jdbc.table-name is invalid: tableName must match"));
    }

    @Test
    void missingWorkflowLoaderFailsNamingWhatIsNeeded() {
        new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(UsherAutoConfiguration.class))
                .withPropertyValues("usher.session.store=memory", "usher.workspace.enabled=false")
                .run(context -> assertThat(failure(context)).contains("WorkflowLoader<String, YourWorkflow>"));
    }

    @Test
    void clusterQueueWithoutItsModuleFailsNamingTheProperty() {
        runner().withClassLoader(new FilteredClassLoader("dev.usher.gate.redis."))
                .withPropertyValues("usher.session.store=memory", "usher.queue.type=redis").run(context ->
                        assertThat(failure(context)).contains("usher.queue.type is redis, which needs the cluster queue"));
    }

    @Test
    void trustedProxiesAreCheckedAtStartUp() {
        webRunner().withPropertyValues("usher.servlet.trusted-proxies=10.0.0.0/8,::1")
                .run(context -> assertThat(context).hasNotFailed().hasSingleBean(UsherFilter.class));
        webRunner().withPropertyValues("usher.servlet.trusted-proxies=10.0.0.0/99")
                .run(context -> assertThat(failure(context)).contains("usher.servlet.trusted-proxies is invalid"));
    }

    @Test
    void clusterQueueWithoutRedisUriFailsNamingTheProperty() {
        runner().withPropertyValues("usher.session.store=memory", "usher.queue.type=redis").run(context ->
                assertThat(failure(context)).contains("usher.queue.redis-uri is required when usher.queue.type=redis"));
    }

    @Test
    void clusterQueueIsOneQueueForEveryContextOnTheSameRedis() {
        String name = TestServers.unique("boot-queue").replaceAll("[^A-Za-z0-9_-]", "-");
        String[] properties = {"usher.session.store=memory", "usher.queue.type=redis",
                "usher.queue.redis-uri=" + TestServers.REDIS_URI, "usher.queue.name=" + name, "usher.queue.max-running=1"};
        runner().withPropertyValues(properties).run(first -> runner().withPropertyValues(properties).run(second -> {
            AdmissionQueue a = first.getBean(AdmissionQueue.class);
            AdmissionQueue b = second.getBean(AdmissionQueue.class);
            assertThat(a).isInstanceOf(RedisAdmissionQueue.class);
            // One cap across both: while the first holds the only slot, the second's ticket waits in line.
            try (Permit held = a.enter("alice").await(Duration.ofSeconds(10))) {
                Ticket waiting = b.enter("bob");
                assertThat(waiting.state()).isEqualTo(Ticket.State.QUEUED);
                assertThat(waiting.position()).isEqualTo(1);
                waiting.cancel();
            }
        }));
    }

    @Test
    void clusterQueueLeaseSettingsAreCheckedNamingTheProperty() {
        String[] redis = {"usher.session.store=memory", "usher.queue.type=redis", "usher.queue.redis-uri=" + TestServers.REDIS_URI,
                "usher.queue.name=" + TestServers.unique("boot-lease").replaceAll("[^A-Za-z0-9_-]", "-")};
        runner().withPropertyValues(redis).withPropertyValues("usher.queue.lease-time=100ms").run(context ->
                assertThat(failure(context)).contains("usher.queue.lease-time is invalid: leaseTime must be at least 300ms"));
        runner().withPropertyValues(redis).withPropertyValues("usher.queue.reconnect-grace=-1s").run(context ->
                assertThat(failure(context)).contains("usher.queue.reconnect-grace must be at least 0s but was -1s"));
        runner().withPropertyValues(redis).withPropertyValues("usher.queue.lease-time=5s", "usher.queue.reconnect-grace=0s")
                .run(context -> assertThat(context).hasNotFailed().getBean(AdmissionQueue.class).isInstanceOf(RedisAdmissionQueue.class));
    }

    @Test
    void sharedRateLimitStoreTimeoutIsCheckedNamingTheProperty() {
        runner().withPropertyValues("usher.session.store=memory", "usher.rate-limit.store=redis",
                        "usher.rate-limit.redis-uri=" + TestServers.REDIS_URI, "usher.rate-limit.redis-timeout=0s")
                .run(context -> assertThat(failure(context)).contains("usher.rate-limit.redis-timeout must be at least 1ms but was 0s"));
        runner().withPropertyValues("usher.session.store=memory", "usher.rate-limit.store=redis",
                        "usher.rate-limit.redis-uri=not a uri")
                .run(context -> assertThat(failure(context)).contains("usher.rate-limit.redis-uri"));
    }

    @Test
    void sharedRateLimitStoreWithoutUriFailsNamingTheProperty() {
        runner().withPropertyValues("usher.session.store=memory", "usher.rate-limit.store=redis").run(context ->
                assertThat(failure(context)).contains("usher.rate-limit.redis-uri is required"));
    }

    @Test
    void sharedRateLimitStoreOnRedisHasAHealthIndicator() {
        runner().withPropertyValues("usher.session.store=memory", "usher.rate-limit.store=redis",
                        "usher.rate-limit.redis-uri=" + TestServers.REDIS_URI,
                        "usher.rate-limit.limits.minute.quota=1000", "usher.rate-limit.limits.minute.window=1m")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    HealthIndicator health = context.getBean("usherRateLimitStoreHealthIndicator", HealthIndicator.class);
                    assertThat(health.health().getStatus()).isEqualTo(Status.UP);
                    assertThat(context.getBean(RateLimiter.class).tryAcquire(TestServers.unique("key")).allowed()).isTrue();
                });
    }

    @Test
    void sessionStoreHealthIsUpAndCountsSessions() {
        runner().withPropertyValues("usher.session.store=memory").run(context -> {
            context.getBean(SessionManager.class).create(null, Map.of());
            Health health = context.getBean("usherSessionStoreHealthIndicator", HealthIndicator.class).health();
            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsEntry("sessions", 1L);
            assertThat(context).doesNotHaveBean("usherRateLimitStoreHealthIndicator");
        });
    }

    @Test
    void disabledFeaturesAreAbsent() {
        runner().withPropertyValues("usher.session.store=memory", "usher.rate-limit.enabled=false", "usher.workspace.enabled=false")
                .run(context -> {
                    assertThat(context).doesNotHaveBean(RateLimiter.class).doesNotHaveBean(WorkspaceAllocator.class);
                    WorkflowGate<?> gate = context.getBean(WorkflowGate.class);
                    assertThat(gate.rateLimiter()).isEmpty();
                });
        runner().withPropertyValues("usher.enabled=false").run(context ->
                assertThat(context).doesNotHaveBean(WorkflowGate.class).doesNotHaveBean(SessionManager.class));
    }

    @Test
    void applicationBeansWin() {
        runner().withUserConfiguration(HostBeans.class).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(SessionStore.class)).isSameAs(context.getBean("hostStore"));
            assertThat(context.getBean(SessionManager.class)).isSameAs(context.getBean("hostSessions"));
            assertThat(context.getBean(AdmissionQueue.class)).isSameAs(context.getBean("hostQueue"));
            assertThat(context.getBean(RateLimiter.class)).isSameAs(context.getBean("hostLimiter"));
            assertThat(context.getBean(WorkspaceAllocator.class)).isSameAs(context.getBean("hostWorkspaces"));
            WorkflowGate<?> gate = context.getBean(WorkflowGate.class);
            assertThat(gate.sessions()).isSameAs(context.getBean("hostSessions"));
            assertThat(gate.queue()).isSameAs(context.getBean("hostQueue"));
            assertThat(gate.rateLimiter()).containsSame(context.getBean(RateLimiter.class));
            assertThat(Files.exists(dir.resolve("db/sessions.db"))).isFalse();
        });
        runner().withPropertyValues("usher.session.store=memory").withUserConfiguration(HostGate.class).run(context ->
                assertThat(context.getBean(WorkflowGate.class)).isSameAs(context.getBean("hostGate")));
    }

    @Test
    void webApplicationGetsTheFilterOnTheConfiguredPatterns() {
        new WebApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(UsherAutoConfiguration.class))
                .withUserConfiguration(TestWorkflow.Loader.class)
                .withPropertyValues("usher.session.store=memory", "usher.workspace.root=" + dir,
                        "usher.servlet.url-patterns=/chat/*,/agent/run", "usher.session.cookie-name=__Host-chat")
                .run(context -> {
                    assertThat(context).hasSingleBean(UsherFilter.class);
                    @SuppressWarnings("unchecked")
                    FilterRegistrationBean<UsherFilter> registration = context.getBean("usherFilterRegistration", FilterRegistrationBean.class);
                    assertThat(registration.getUrlPatterns()).containsExactly("/chat/*", "/agent/run");
                    assertThat(registration.determineDispatcherTypes()).containsExactlyInAnyOrder(DispatcherType.REQUEST, DispatcherType.ASYNC);
                    assertThat(registration.isAsyncSupported()).isTrue();
                    assertThat(context.getBean(UsherFilter.class).cookie().name()).isEqualTo("__Host-chat");
                });
        new WebApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(UsherAutoConfiguration.class))
                .withUserConfiguration(TestWorkflow.Loader.class)
                .withPropertyValues("usher.session.store=memory", "usher.workspace.root=" + dir,
                        "usher.session.cookie-name=bad name;")
                .run(context -> assertThat(failure(context)).contains("usher.session.cookie-name is invalid: cookie name must be"));
    }

    @Test
    void configurationMetadataDescribesEveryPropertyForIdes() throws IOException {
        String metadata;
        try (var in = getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
            assertThat(in).as("the configuration processor wrote the metadata").isNotNull();
            metadata = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        for (String property : List.of("usher.session.store", "usher.session.jdbc.url", "usher.session.redis.uri",
                "usher.queue.type", "usher.queue.max-running", "usher.queue.max-queued", "usher.rate-limit.limits",
                "usher.workspace.root", "usher.servlet.url-patterns", "usher.shutdown.timeout", "usher.queue.lease-time",
                "usher.queue.reconnect-grace", "usher.rate-limit.redis-timeout", "usher.servlet.trusted-proxies")) {
            assertThat(metadata).containsPattern("\"name\"\\s*:\\s*\"" + java.util.regex.Pattern.quote(property) + "\"");
        }
        assertThat(metadata).contains("Where sessions are kept: memory, jdbc or redis.");
    }

    @Test
    void closingTheContextClosesEverythingInOrder() {
        List<SessionManager> seen = new ArrayList<>();
        runner().withPropertyValues("usher.session.store=memory").run(context -> seen.add(context.getBean(SessionManager.class)));
        assertThat(seen).hasSize(1);
        // a closed SessionManager refuses work: the lifecycle closed the gate, which closed it
        assertThatThrownBy(() -> seen.get(0).create(null, Map.of()))
                .isInstanceOf(IllegalStateException.class);
    }

    private WebApplicationContextRunner webRunner() {
        return new WebApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(UsherAutoConfiguration.class))
                .withUserConfiguration(TestWorkflow.Loader.class)
                .withPropertyValues("usher.session.store=memory", "usher.workspace.root=" + dir);
    }

    @SuppressWarnings("unchecked")
    private static GateOutcome.Admitted<Object> admit(WorkflowGate<?> gate) throws InterruptedException {
        return (GateOutcome.Admitted<Object>) gate.enter(new GateRequest(null, "shutdown-test", null), QueueObserver.ignoring());
    }

    @Test
    void shutdownStopsAdmittingThenWaitsForTheRunInFlightThenCloses() {
        webRunner().withPropertyValues("usher.shutdown.timeout=10m", "usher.queue.max-running=1").run(context -> {
            WorkflowGate<?> gate = context.getBean(WorkflowGate.class);
            UsherFilter filter = context.getBean(UsherFilter.class);
            GateOutcome.Admitted<Object> run = admit(gate);
            java.util.concurrent.CompletableFuture<GateOutcome<?>> waiter = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return gate.enter(new GateRequest(null, "waiter", null), QueueObserver.ignoring());
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            long queuedBy = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (gate.queue().stats().queued() == 0 && System.nanoTime() < queuedBy) {
                Thread.sleep(10);
            }
            assertThat(gate.queue().stats().queued()).isEqualTo(1);
            Thread closer = new Thread(context::close, "context-close");
            closer.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (filter.admitting() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(filter.admitting()).as("shutdown began by refusing new requests").isFalse();
            // the request still waiting is turned away, not started
            assertThat(waiter.get(60, java.util.concurrent.TimeUnit.SECONDS)).isInstanceOf(GateOutcome.Rejected.class);
            // the run in flight holds the shutdown (up to 10 minutes): everything is still open for it
            assertThat(closer.isAlive()).isTrue();
            assertThat(gate.sessions().create(null, Map.of())).isNotNull();
            assertThat(run.workflow()).isNotNull();
            run.close();
            closer.join(60_000);
            assertThat(closer.isAlive()).as("shutdown finished once the run ended").isFalse();
            assertThatThrownBy(() -> gate.sessions().create(null, Map.of())).isInstanceOf(IllegalStateException.class);
        });
    }

    @Test
    void shutdownWaitsNoLongerThanItsTimeout() {
        webRunner().withPropertyValues("usher.shutdown.timeout=100ms").run(context -> {
            WorkflowGate<?> gate = context.getBean(WorkflowGate.class);
            GateOutcome.Admitted<Object> run = admit(gate);
            context.close(); // returns although the run never ends
            assertThatThrownBy(() -> gate.sessions().create(null, Map.of())).isInstanceOf(IllegalStateException.class);
            run.close(); // a late release is harmless
            assertThat(gate.queue().stats().running()).isZero();
        });
    }

    private static void dropTables(String table) throws Exception {
        try (HikariDataSource ds = postgres()) {
            try (Connection c = ds.getConnection()) {
                c.createStatement().execute("DROP TABLE IF EXISTS " + table);
                c.createStatement().execute("DROP TABLE IF EXISTS " + table + "_schema_version");
            }
        }
    }

    static HikariDataSource postgres() {
        HikariDataSource ds = new HikariDataSource();
        ds.setJdbcUrl(TestServers.POSTGRES_URL);
        ds.setUsername(TestServers.POSTGRES_USER);
        ds.setMaximumPoolSize(4);
        return ds;
    }

    @Configuration(proxyBeanMethods = false)
    static class PostgresDataSource {
        @Bean
        HikariDataSource dataSource() {
            return postgres();
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class HostBeans {
        @Bean
        SessionStore hostStore() {
            return new InMemorySessionStore();
        }

        @Bean
        SessionManager hostSessions(SessionStore hostStore) {
            return SessionManager.builder(hostStore).build();
        }

        @Bean
        AdmissionQueue hostQueue() {
            return AdmissionQueue.builder(7).name("host").build();
        }

        @Bean
        RateLimiter hostLimiter() {
            return RateLimiter.builder().limit(Limit.of("host", 5, Duration.ofSeconds(10))).build();
        }

        @Bean
        WorkspaceAllocator hostWorkspaces(SessionManager hostSessions, @org.springframework.beans.factory.annotation.Value("${usher.workspace.root}") Path root) {
            return WorkspaceAllocator.builder(root, hostSessions).releaseWhenSessionEnds(false).build();
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class HostGate {
        @Bean
        WorkflowGate<Object> hostGate() {
            SessionManager sessions = SessionManager.builder(new InMemorySessionStore()).build();
            return WorkflowGate.builder(sessions, AdmissionQueue.builder(1).build(),
                    WorkflowCache.<String, Object>builder(id -> new Object()).maximumSize(10).build()).build();
        }
    }
}
