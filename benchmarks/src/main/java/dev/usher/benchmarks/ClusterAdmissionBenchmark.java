package dev.usher.benchmarks;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.Permit;
import dev.usher.gate.redis.RedisAdmissionQueue;
import java.time.Duration;
import java.util.UUID;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import redis.clients.jedis.RedisClient;

/**
 * One admission without queueing (enter, permit, close) on the cluster-wide {@code RedisAdmissionQueue}
 * next to the local {@code AdmissionQueue}, both with {@value #MAX_RUNNING} slots and {@value #KEYS} keys:
 * what the shared cap costs each request (two Redis round trips) when nobody has to wait.
 */
@State(Scope.Benchmark)
public class ClusterAdmissionBenchmark {
    static final int MAX_RUNNING = 64;
    static final int KEYS = 1 << 10;
    private static final Duration AWAIT = Duration.ofSeconds(10);

    private final String[] keys = new String[KEYS];
    private RedisClient jedis;
    private String name;
    private AdmissionQueue redisQueue;
    private AdmissionQueue localQueue;

    @Setup(Level.Trial)
    public void setUp() {
        for (int i = 0; i < KEYS; i++) {
            keys[i] = "user-" + i;
        }
        jedis = RedisClient.create(Servers.redisHost(), Servers.redisPort());
        name = "bench-" + UUID.randomUUID().toString().substring(0, 8);
        redisQueue = RedisAdmissionQueue.builder(jedis, name, MAX_RUNNING).build();
        localQueue = AdmissionQueue.builder(MAX_RUNNING).name("bench").build();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        redisQueue.close();
        localQueue.close();
        ClusterQueueMeasurements.deleteQueue(jedis, name);
        jedis.close();
    }

    @Benchmark
    public Permit redisEnterClose(Cursor c) throws Exception {
        Permit permit = redisQueue.enter(keys[c.next(KEYS)]).await(AWAIT);
        permit.close();
        return permit;
    }

    @Benchmark
    public Permit localEnterClose(Cursor c) throws Exception {
        Permit permit = localQueue.enter(keys[c.next(KEYS)]).await(AWAIT);
        permit.close();
        return permit;
    }
}
