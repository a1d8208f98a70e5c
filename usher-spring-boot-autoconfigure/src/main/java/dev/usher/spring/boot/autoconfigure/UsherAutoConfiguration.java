package dev.usher.spring.boot.autoconfigure;

import dev.usher.gate.http.TrustedProxies;
import dev.usher.gate.WorkflowGate;
import dev.usher.gate.WorkflowGateMetrics;
import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.cache.WorkflowLoader;
import dev.usher.gate.ratelimit.Limit;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.gate.ratelimit.RedisBuckets;
import dev.usher.gate.ratelimit.StoreDownPolicy;
import dev.usher.gate.workspace.WorkspaceAllocator;
import dev.usher.servlet.SessionCookie;
import dev.usher.servlet.UsherFilter;
import dev.usher.session.SessionManager;
import dev.usher.session.SessionStore;
import dev.usher.session.jdbc.JdbcSessionStore;
import dev.usher.session.memory.InMemorySessionStore;
import dev.usher.session.redis.RedisSessionStore;
import io.micrometer.core.instrument.binder.MeterBinder;
import jakarta.servlet.DispatcherType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import redis.clients.jedis.RedisClient;

/**
 * Configures Usher from {@code usher.*} properties: the session store and {@link SessionManager}, the
 * {@link AdmissionQueue}, the {@link RateLimiter}, the {@link WorkspaceAllocator}, the workflow cache over
 * the application's {@link WorkflowLoader} bean, the {@link WorkflowGate}, its {@link UsherFilter} on the
 * configured URL patterns, Micrometer metrics, Actuator health, and graceful shutdown. Each bean backs off
 * when the application defines its own of the same type.
 *
 * <p>The cluster queue ({@code usher.queue.type=redis}, on {@code usher.queue.redis-uri}) needs the
 * workflow-gate-redis module on the classpath; without it the start fails, naming the property.
 *
 * <p>Why this class is long: it is one job, turning properties into beans, one short method per bean, with
 * the alternatives that depend on an optional module (session stores, the cluster queue, shared rate-limit
 * buckets, the servlet filter) as nested configurations so that their conditions and back-off rules read in
 * one place. The checks shared by two beans live in {@code QueueSettings} and {@code Settings}; the
 * lifecycle in {@code UsherLifecycle}.
 */
@AutoConfiguration(afterName = "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration")
@ConditionalOnClass(WorkflowGate.class)
@ConditionalOnBooleanProperty(name = "usher.enabled", matchIfMissing = true)
@EnableConfigurationProperties(UsherProperties.class)
public class UsherAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    SessionManager usherSessionManager(UsherProperties properties, ObjectProvider<SessionStore> store) {
        UsherProperties.Session s = properties.getSession();
        Duration idle = Settings.atLeast("usher.session.idle-timeout", s.getIdleTimeout(), Duration.ofSeconds(1));
        Duration absolute = Settings.atLeast("usher.session.absolute-timeout", s.getAbsoluteTimeout(), Duration.ofSeconds(1));
        SessionStore sessionStore = store.getIfAvailable();
        if (sessionStore == null) {
            throw new UsherConfigurationException("usher.session.store", "is " + s.getStore().name().toLowerCase()
                    + ", which needs its module on the classpath (dev.usher:session-"
                    + (s.getStore() == UsherProperties.StoreType.REDIS ? "redis" : "jdbc") + "), or define a SessionStore bean");
        }
        return Settings.build("usher.session", () -> SessionManager.builder(sessionStore)
                .idleTimeout(idle).absoluteTimeout(absolute).build());
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnProperty(name = "usher.queue.type", havingValue = "local", matchIfMissing = true)
    AdmissionQueue usherAdmissionQueue(UsherProperties properties) {
        UsherProperties.Queue q = properties.getQueue();
        QueueSettings limits = QueueSettings.of(q);
        AdmissionQueue.Builder builder = Settings.build("usher.queue.name",
                () -> AdmissionQueue.builder(limits.maxRunning()).name(q.getName()));
        builder.maxQueued(limits.maxQueued()).maxWait(limits.maxWait()).initialRunDuration(limits.initialRunDuration());
        if (limits.maxRunningPerSession() > 0) {
            builder.maxRunningPerKey(limits.maxRunningPerSession());
        }
        return builder.build();
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnProperty(name = "usher.queue.type", havingValue = "redis")
    @ConditionalOnMissingClass("dev.usher.gate.redis.RedisAdmissionQueue")
    AdmissionQueue usherClusterQueueMissing() {
        throw new UsherConfigurationException("usher.queue.type", "is redis, which needs the cluster queue of module"
                + " dev.usher:workflow-gate-redis on the classpath (or an AdmissionQueue bean), but there is none");
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnBooleanProperty(name = "usher.rate-limit.enabled", matchIfMissing = true)
    RateLimiter usherRateLimiter(UsherProperties properties, ObjectProvider<SharedBuckets> shared) {
        UsherProperties.RateLimit r = properties.getRateLimit();
        if (r.getLimits().isEmpty()) {
            throw new UsherConfigurationException("usher.rate-limit.limits",
                    "must name at least one limit when usher.rate-limit.enabled=true, but names none");
        }
        RateLimiter.Builder builder = RateLimiter.builder().name("usher");
        for (Map.Entry<String, UsherProperties.LimitProperties> e : r.getLimits().entrySet()) {
            String prefix = "usher.rate-limit.limits." + e.getKey();
            long quota = Settings.atLeast(prefix + ".quota", e.getValue().getQuota(), 1);
            Duration window = Settings.atLeast(prefix + ".window", e.getValue().getWindow(), Duration.ofSeconds(1));
            Settings.build(prefix, () -> builder.limit(Limit.of(e.getKey(), quota, window)));
        }
        if (r.getStore() == UsherProperties.RateLimitStore.REDIS) {
            SharedBuckets buckets = shared.getIfAvailable();
            if (buckets == null) {
                throw new UsherConfigurationException("usher.rate-limit.store",
                        "is redis, which needs redis.clients:jedis and com.bucket4j:bucket4j_jdk17-jedis on the classpath");
            }
            builder.shared(buckets.proxyManager()).whenStoreDown(StoreDownPolicy.LOCAL_FALLBACK);
        }
        return builder.build();
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnBooleanProperty(name = "usher.workspace.enabled", matchIfMissing = true)
    WorkspaceAllocator usherWorkspaceAllocator(UsherProperties properties, SessionManager sessions) {
        UsherProperties.Workspace w = properties.getWorkspace();
        long maxBytes = Settings.atLeast("usher.workspace.max-bytes", w.getMaxBytes(), 1);
        long maxFiles = Settings.atLeast("usher.workspace.max-files", w.getMaxFiles(), 1);
        if (w.getRoot() == null) {
            throw new UsherConfigurationException("usher.workspace.root", "must be set");
        }
        return Settings.build("usher.workspace.root", () -> {
            try {
                Files.createDirectories(w.getRoot());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return WorkspaceAllocator.builder(w.getRoot(), sessions)
                    .releaseWhenSessionEnds(false) // the gate releases it once the workflow has closed
                    .maxBytes(maxBytes).maxFiles(maxFiles).build();
        });
    }

    @Bean
    @ConditionalOnMissingBean
    WorkflowCache<String, Object> usherWorkflowCache(UsherProperties properties, ObjectProvider<WorkflowLoader<?, ?>> loader) {
        @SuppressWarnings("unchecked")
        WorkflowLoader<String, Object> workflows = (WorkflowLoader<String, Object>) loader.getIfAvailable();
        if (workflows == null) {
            throw new UsherConfigurationException("usher.enabled", "is true, so Usher needs the application's workflows:"
                    + " define a bean of type dev.usher.gate.cache.WorkflowLoader<String, YourWorkflow> (or set usher.enabled=false)");
        }
        UsherProperties.Workflows w = properties.getWorkflows();
        long size = Settings.atLeast("usher.workflows.maximum-size", w.getMaximumSize(), 1);
        Duration idle = Settings.atLeast("usher.workflows.expire-after-access", w.getExpireAfterAccess(), Duration.ofSeconds(1));
        return WorkflowCache.builder(workflows).maximumSize(size).expireAfterAccess(idle).build();
    }

    @Bean
    @ConditionalOnMissingBean
    WorkflowGate<Object> usherWorkflowGate(SessionManager sessions, AdmissionQueue queue, WorkflowCache<String, Object> workflows,
                                           ObjectProvider<RateLimiter> rateLimiter, ObjectProvider<WorkspaceAllocator> workspaces) {
        WorkflowGate.Builder<Object> builder = WorkflowGate.builder(sessions, queue, workflows);
        rateLimiter.ifAvailable(builder::rateLimiter);
        workspaces.ifAvailable(builder::workspaces);
        return builder.build();
    }

    @Bean
    @ConditionalOnMissingBean
    UsherLifecycle usherLifecycle(WorkflowGate<?> gate, ObjectProvider<UsherLifecycle.Admitting> entrances,
                                  UsherProperties properties) {
        Duration timeout = Settings.atLeast("usher.shutdown.timeout", properties.getShutdown().getTimeout(), Duration.ZERO);
        return new UsherLifecycle(gate, entrances.orderedStream().toList(), timeout);
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnProperty(name = "usher.session.store", havingValue = "memory")
    static class MemoryStoreConfiguration {
        @Bean
        @ConditionalOnMissingBean
        SessionStore usherSessionStore() {
            return new InMemorySessionStore();
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(JdbcSessionStore.class)
    @ConditionalOnProperty(name = "usher.session.store", havingValue = "jdbc", matchIfMissing = true)
    static class JdbcStoreConfiguration {
        @Bean
        @ConditionalOnMissingBean
        SessionStore usherSessionStore(UsherProperties properties, ObjectProvider<DataSource> dataSource) {
            UsherProperties.Jdbc j = properties.getSession().getJdbc();
            Duration timeout = Settings.atLeast("usher.session.jdbc.timeout", j.getTimeout(), Duration.ofMillis(250));
            JdbcSessionStore.Builder builder = Settings.build("usher.session.jdbc.table-name",
                    () -> JdbcSessionStore.builder().tableName(j.getTableName()));
            DataSource application = j.isUseApplicationDataSource() && j.getUrl() == null ? dataSource.getIfUnique() : null;
            String property;
            if (j.getUrl() != null) {
                property = "usher.session.jdbc.url";
                Settings.build(property, () -> builder.jdbcUrl(j.getUrl()).timeout(timeout));
                if (j.getUsername() != null) {
                    builder.credentials(j.getUsername(), j.getPassword());
                }
            } else if (application != null) {
                property = "spring.datasource (the application's DataSource, used by usher.session.store=jdbc)";
                builder.dataSource(application);
            } else {
                property = "usher.session.jdbc.sqlite-file";
                Path file = j.getSqliteFile().toAbsolutePath();
                Settings.build(property, () -> {
                    try {
                        Files.createDirectories(file.getParent());
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    return builder.jdbcUrl("jdbc:sqlite:" + file).timeout(timeout);
                });
            }
            return Settings.build(property, builder::build);
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(RedisSessionStore.class)
    @ConditionalOnProperty(name = "usher.session.store", havingValue = "redis")
    static class RedisStoreConfiguration {
        @Bean
        @ConditionalOnMissingBean
        SessionStore usherSessionStore(UsherProperties properties) {
            UsherProperties.Redis r = properties.getSession().getRedis();
            String uri = Settings.required("usher.session.redis.uri", r.getUri(), "when usher.session.store=redis");
            Duration timeout = Settings.atLeast("usher.session.redis.timeout", r.getTimeout(), Duration.ofMillis(1));
            RedisSessionStore.Builder builder = Settings.build("usher.session.redis.uri",
                    () -> RedisSessionStore.builder().uri(uri));
            if (r.getKeyPrefix() != null) {
                Settings.build("usher.session.redis.key-prefix", () -> builder.keyPrefix(r.getKeyPrefix()));
            }
            Settings.build("usher.session.redis.timeout", () -> builder.timeout(timeout));
            return Settings.build("usher.session.redis.uri", builder::build);
        }
    }

    /** {@code usher.queue.type=redis}: one queue, one cap and one line for every instance on that Redis. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "dev.usher.gate.redis.RedisAdmissionQueue")
    @ConditionalOnProperty(name = "usher.queue.type", havingValue = "redis")
    static class ClusterQueueConfiguration {
        @Bean(destroyMethod = "close")
        @ConditionalOnMissingBean(AdmissionQueue.class)
        ClusterQueueClient usherClusterQueueClient(UsherProperties properties) {
            String uri = Settings.required("usher.queue.redis-uri", properties.getQueue().getRedisUri(),
                    "when usher.queue.type=redis");
            return Settings.build("usher.queue.redis-uri", () -> ClusterQueueClient.connect(uri));
        }

        @Bean
        @ConditionalOnMissingBean
        AdmissionQueue usherClusterQueue(UsherProperties properties, ClusterQueueClient client) {
            UsherProperties.Queue q = properties.getQueue();
            QueueSettings limits = QueueSettings.of(q);
            Duration leaseTime = Settings.atLeast("usher.queue.lease-time", q.getLeaseTime(), Duration.ofMillis(1));
            Duration grace = Settings.atLeast("usher.queue.reconnect-grace", q.getReconnectGrace(), Duration.ZERO);
            dev.usher.gate.redis.RedisAdmissionQueue.Builder builder = Settings.build("usher.queue.name",
                    () -> dev.usher.gate.redis.RedisAdmissionQueue.builder(client.redis(), q.getName(), limits.maxRunning())
                            .maxQueued(limits.maxQueued()).maxWait(limits.maxWait())
                            .initialRunDuration(limits.initialRunDuration()));
            Settings.build("usher.queue.lease-time", () -> builder.leaseTime(leaseTime));
            Settings.build("usher.queue.reconnect-grace", () -> builder.reconnectGrace(grace));
            if (limits.maxRunningPerSession() > 0) {
                builder.maxRunningPerKey(limits.maxRunningPerSession());
            }
            return Settings.build("usher.queue.name", builder::build);
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(value = {RedisClient.class, RedisBuckets.class}, name = "io.github.bucket4j.redis.jedis.Bucket4jJedis")
    @ConditionalOnProperty(name = "usher.rate-limit.store", havingValue = "redis")
    static class RedisRateLimitConfiguration {
        @Bean(destroyMethod = "close")
        @ConditionalOnMissingBean
        SharedBuckets usherSharedBuckets(UsherProperties properties) {
            String uri = Settings.required("usher.rate-limit.redis-uri", properties.getRateLimit().getRedisUri(),
                    "when usher.rate-limit.store=redis");
            Duration timeout = Settings.atLeast("usher.rate-limit.redis-timeout", properties.getRateLimit().getRedisTimeout(),
                    Duration.ofMillis(1));
            return Settings.build("usher.rate-limit.redis-uri", () -> new RedisSharedBuckets(uri, timeout));
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
    @ConditionalOnClass({jakarta.servlet.Filter.class, FilterRegistrationBean.class})
    static class ServletConfiguration {
        @Bean
        @ConditionalOnMissingBean
        UsherFilter usherFilter(WorkflowGate<?> gate, UsherProperties properties, ObjectProvider<UsherFilterCustomizer> customizers) {
            UsherProperties.Servlet s = properties.getServlet();
            SessionCookie cookie = Settings.build("usher.session.cookie-name",
                    () -> SessionCookie.named(properties.getSession().getCookieName()));
            UsherFilter.Builder builder = UsherFilter.builder(gate).cookie(cookie);
            Settings.build("usher.servlet.keep-alive-interval", () -> builder.keepAliveInterval(s.getKeepAliveInterval()));
            Settings.build("usher.servlet.unavailable-retry-after", () -> builder.unavailableRetryAfter(s.getUnavailableRetryAfter()));
            if (!s.getTrustedProxies().isEmpty()) {
                TrustedProxies proxies = Settings.build("usher.servlet.trusted-proxies", () -> TrustedProxies.of(s.getTrustedProxies()));
                builder.trustedProxies(proxies);
            }
            customizers.orderedStream().forEach(c -> c.customize(builder));
            return builder.build();
        }

        @Bean
        UsherLifecycle.Admitting usherFilterAdmitting(UsherFilter filter) {
            return new UsherLifecycle.Admitting() {
                @Override
                public void stop() {
                    filter.stopAdmitting();
                }

                @Override
                public int inFlight() {
                    return filter.inFlight();
                }
            };
        }

        @Bean
        @ConditionalOnMissingBean(name = "usherFilterRegistration")
        FilterRegistrationBean<UsherFilter> usherFilterRegistration(UsherFilter filter, UsherProperties properties) {
            UsherProperties.Servlet s = properties.getServlet();
            if (s.getUrlPatterns() == null || s.getUrlPatterns().isEmpty()) {
                throw new UsherConfigurationException("usher.servlet.url-patterns", "must name at least one pattern but names none");
            }
            FilterRegistrationBean<UsherFilter> registration = new FilterRegistrationBean<>(filter);
            registration.setName("usherFilter");
            registration.setUrlPatterns(s.getUrlPatterns());
            registration.setDispatcherTypes(DispatcherType.REQUEST, DispatcherType.ASYNC);
            registration.setAsyncSupported(true);
            registration.setOrder(s.getOrder());
            return registration;
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(MeterBinder.class)
    static class MetricsConfiguration {
        @Bean
        @ConditionalOnMissingBean
        WorkflowGateMetrics usherMetrics(WorkflowGate<?> gate) {
            return new WorkflowGateMetrics(gate);
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HealthIndicator.class)
    static class HealthConfiguration {
        @Bean
        @ConditionalOnMissingBean(name = "usherSessionStoreHealthIndicator")
        HealthIndicator usherSessionStoreHealthIndicator(SessionManager sessions) {
            return () -> {
                try {
                    return Health.up().withDetail("sessions", sessions.stats().active()).build();
                } catch (RuntimeException e) {
                    return Health.down(e).build();
                }
            };
        }

        @Bean
        @ConditionalOnProperty(name = "usher.rate-limit.store", havingValue = "redis")
        @ConditionalOnMissingBean(name = "usherRateLimitStoreHealthIndicator")
        HealthIndicator usherRateLimitStoreHealthIndicator(SharedBuckets buckets) {
            return () -> {
                try {
                    buckets.ping();
                    return Health.up().withDetail("store", buckets.describe()).build();
                } catch (RuntimeException e) {
                    return Health.down(e).withDetail("store", buckets.describe()).build();
                }
            };
        }
    }
}
