package dev.usher.benchmarks;

import dev.usher.session.SessionManager;
import dev.usher.session.redis.RedisSessionStore;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.RedisTemplate;
import org.springframework.data.redis.serializer.RedisSerializer;
import org.springframework.session.Session;
import org.springframework.session.SessionRepository;
import org.springframework.session.data.redis.RedisSessionRepository;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * Per-request session work against one Redis server: Usher's {@code SessionManager} on
 * {@code RedisSessionStore} (on the same Jedis client as the raw script), Spring Session's {@code RedisSessionRepository}
 * (plain Spring on Lettuce, configured as Spring Boot configures it: string keys, JDK-serialized values)
 * doing findById + save, and one raw Jedis {@code EVALSHA} that reads a session hash and refreshes its TTL,
 * the least a touch can cost (one round trip).
 */
@State(Scope.Benchmark)
public class RedisSessionBenchmark {
    static final int SESSIONS = 1 << 10;
    /** Reads the hash and slides its expiry, in one round trip. */
    static final String RAW_TOUCH = "local h = redis.call('HGETALL', KEYS[1]); redis.call('PEXPIRE', KEYS[1], ARGV[1]); return h";
    private static final String[] VALUES = {"a", "b", "c", "d", "e", "f", "g", "h"};

    private final String namespace = "usher-bench:" + UUID.randomUUID();

    String namespace() {
        return namespace;
    }
    private SessionManager usher;
    private final String[] usherIds = new String[SESSIONS];
    /** The session as the last write left it: what a caller holds after its touch (the gate does). */
    private final dev.usher.session.Session[] usherHeld = new dev.usher.session.Session[SESSIONS];
    private LettuceConnectionFactory lettuce;
    private SessionRepository<Session> spring;
    private final String[] springIds = new String[SESSIONS];
    private RedisClient jedis;
    private String rawTouchSha;
    private final String[] rawKeys = new String[SESSIONS];

    @Setup(Level.Trial)
    public void setUp() {
        lettuce = springConnectionFactory();
        spring = springRepository(lettuce, namespace + ":spring");
        for (int i = 0; i < SESSIONS; i++) {
            springIds[i] = createSpringSession(spring, "user-" + i);
        }
        jedis = RedisClient.create(URI.create(Servers.redisUri()));
        rawTouchSha = jedis.scriptLoad(RAW_TOUCH);
        usher = SessionManager.builder(RedisSessionStore.builder().client(jedis).keyPrefix(namespace + ":usher:").build())
                .idleTimeout(Duration.ofMinutes(30))
                .sweepInterval(Duration.ZERO)
                .build();
        for (int i = 0; i < SESSIONS; i++) {
            usherHeld[i] = usher.create("user-" + i, Map.of("plan", "pro"));
            usherIds[i] = usherHeld[i].id();
        }
        long now = System.currentTimeMillis();
        for (int i = 0; i < SESSIONS; i++) {
            rawKeys[i] = namespace + ":raw:{" + i + "}";
            jedis.hset(rawKeys[i], Map.of("owner", "user-" + i, "lastAccessedAt", Long.toString(now),
                    "version", "1", "a:plan", "pro"));
            jedis.pexpire(rawKeys[i], Duration.ofMinutes(30).toMillis());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        usher.close();
        deleteKeys(jedis, namespace);
        jedis.close();
        lettuce.destroy();
    }

    @Benchmark
    public Optional<dev.usher.session.Session> usherTouch(Cursor c) {
        return usher.touch(usherIds[c.next(SESSIONS)]);
    }

    @Benchmark
    public Optional<dev.usher.session.Session> usherUpdate(Cursor c) {
        String value = VALUES[c.next(VALUES.length)];
        return usher.update(usherIds[c.next(SESSIONS)], s -> s.withAttribute("step", value));
    }

    /** An update by a caller that holds the current session: one compare-and-set, no read. */
    @Benchmark
    public Optional<dev.usher.session.Session> usherUpdateHeld(Cursor c) {
        String value = VALUES[c.next(VALUES.length)];
        int i = c.next(SESSIONS);
        Optional<dev.usher.session.Session> updated = usher.update(usherHeld[i], s -> s.withAttribute("step", value));
        updated.ifPresent(s -> usherHeld[i] = s);
        return updated;
    }

    @Benchmark
    public Session springTouch(Cursor c) {
        Session s = spring.findById(springIds[c.next(SESSIONS)]);
        s.setLastAccessedTime(Instant.now());
        spring.save(s);
        return s;
    }

    @Benchmark
    public Session springUpdate(Cursor c) {
        String value = VALUES[c.next(VALUES.length)];
        Session s = spring.findById(springIds[c.next(SESSIONS)]);
        s.setLastAccessedTime(Instant.now());
        s.setAttribute("step", value);
        spring.save(s);
        return s;
    }

    @Benchmark
    public Object rawEvalsha(Cursor c) {
        return jedis.evalsha(rawTouchSha, List.of(rawKeys[c.next(SESSIONS)]), List.of("1800000"));
    }

    static LettuceConnectionFactory springConnectionFactory() {
        LettuceConnectionFactory factory = new LettuceConnectionFactory(
                new RedisStandaloneConfiguration(Servers.redisHost(), Servers.redisPort()));
        factory.afterPropertiesSet();
        factory.start();
        return factory;
    }

    static SessionRepository<Session> springRepository(LettuceConnectionFactory factory, String namespace) {
        RedisTemplate<String, Object> template = new RedisTemplate<>();
        template.setConnectionFactory(factory);
        template.setKeySerializer(RedisSerializer.string());
        template.setHashKeySerializer(RedisSerializer.string());
        template.afterPropertiesSet();
        RedisSessionRepository repository = new RedisSessionRepository(template);
        repository.setRedisKeyNamespace(namespace);
        repository.setDefaultMaxInactiveInterval(Duration.ofMinutes(30));
        return SpringSessions.erase(repository);
    }

    static String createSpringSession(SessionRepository<Session> repository, String owner) {
        Session s = repository.createSession();
        s.setAttribute(org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, owner);
        s.setAttribute("plan", "pro");
        repository.save(s);
        return s.getId();
    }

    static void deleteKeys(UnifiedJedis jedis, String namespace) {
        String cursor = ScanParams.SCAN_POINTER_START;
        ScanParams match = new ScanParams().match(namespace + "*").count(1000);
        do {
            ScanResult<String> page = jedis.scan(cursor, match);
            for (String key : page.getResult()) {
                jedis.unlink(key);
            }
            cursor = page.getCursor();
        } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
    }
}
