package dev.usher.session.redis;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import redis.clients.jedis.Jedis;

/** Round trips per operation on a standalone Redis of this test's own. */
@Tag("server")
class RedisSessionStoreRoundTripTest extends AbstractRoundTripTest {
    private static DedicatedRedis server;
    private static List<Jedis> probes;

    @BeforeAll
    static void startServer() throws Exception {
        server = new DedicatedRedis();
        probes = List.of(server.connect());
    }

    @AfterAll
    static void stopServer() throws Exception {
        probes.forEach(Jedis::close);
        server.close();
    }

    @Override
    RedisSessionStore.Builder target() {
        return RedisSessionStore.builder().uri(server.uri());
    }

    @Override
    List<Jedis> probes() {
        return probes;
    }
}
