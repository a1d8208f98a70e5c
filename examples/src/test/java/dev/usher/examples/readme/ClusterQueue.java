package dev.usher.examples.readme;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.Permit;
import dev.usher.gate.redis.FencedPermit;
import dev.usher.gate.redis.RedisAdmissionQueue;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.UnifiedJedis;

/** The README's cluster-wide queue snippet, compiled. {@link ReadmeSnippetsTest} checks the README shows this text. */
final class ClusterQueue {

    static long lastFence;

    static void example(String sessionId) throws InterruptedException, TimeoutException {
        UnifiedJedis redis = RedisClient.create(URI.create("redis://redis:6379"));   // or RedisClusterClient.create(nodes); yours to close
        AdmissionQueue queue = RedisAdmissionQueue.builder(redis, "chat", 4)   // 4 runs at once across ALL instances
                .maxRunningPerKey(1)
                .maxWait(Duration.ofMinutes(5))
                .build();
        try (Permit permit = queue.enter(sessionId).await(Duration.ofMinutes(5))) {
            long fence = ((FencedPermit) permit).fencingToken();       // pass to what the run writes to
            runWorkflow(fence);
        }
        queue.close();
        redis.close();
    }

    private static void runWorkflow(long fence) {
        lastFence = fence;
    }

    private ClusterQueue() {
    }
}
