package dev.usher.session.redis;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import redis.clients.jedis.Jedis;

/** Round trips per operation on a three-master Redis Cluster of this test's own. */
@Tag("server")
class RedisClusterRoundTripTest extends AbstractRoundTripTest {
    private static DedicatedCluster cluster;
    private static List<Jedis> probes;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = new DedicatedCluster();
        probes = cluster.nodes().stream().map(DedicatedRedis::connect).toList();
    }

    @AfterAll
    static void stopCluster() throws Exception {
        probes.forEach(Jedis::close);
        cluster.close();
    }

    @Override
    RedisSessionStore.Builder target() {
        return RedisSessionStore.builder().clusterNodes(cluster.seeds());
    }

    @Override
    List<Jedis> probes() {
        return probes;
    }
}
