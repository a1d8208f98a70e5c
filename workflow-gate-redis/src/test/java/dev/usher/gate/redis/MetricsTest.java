package dev.usher.gate.redis;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.gate.admission.Ticket;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.UnifiedJedis;

@Tag("server")
class MetricsTest {
    @Test
    void clusterFiguresTaggedWithTheQueueName() {
        String name = TestRedis.uniqueName("metrics");
        try (UnifiedJedis redis = TestRedis.connect(TestRedis.standalone());
             RedisAdmissionQueue q = RedisAdmissionQueue.builder(redis, name, 1).build()) {
            Ticket running = q.enter("a");
            Ticket waiting = q.enter("b");
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            new RedisAdmissionQueueMetrics(q).bindTo(registry);
            assertThat(registry.get("usher.queue.cluster.running").tag("queue", name).gauge().value()).isEqualTo(1);
            assertThat(registry.get("usher.queue.cluster.waiting").tag("queue", name).gauge().value()).isEqualTo(1);
            assertThat(registry.get("usher.queue.redis.available").tag("queue", name).gauge().value()).isEqualTo(1);
            assertThat(registry.get("usher.queue.cluster.admitted").tag("queue", name).functionCounter().count()).isEqualTo(1);
            waiting.cancel();
            running.permit().join().close();
        } finally {
            TestRedis.deleteQueue(TestRedis.standalone(), name);
        }
    }
}
