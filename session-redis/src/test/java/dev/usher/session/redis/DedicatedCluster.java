package dev.usher.session.redis;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * A three-master Redis Cluster of one test's own (three redis-server processes joined with
 * {@code redis-cli --cluster create}), for counting what reaches each node without other clients' traffic.
 */
public final class DedicatedCluster implements AutoCloseable {
    private final List<DedicatedRedis> nodes = new ArrayList<>();

    public DedicatedCluster() throws IOException, InterruptedException {
        try {
            for (int i = 0; i < 3; i++) {
                nodes.add(new DedicatedRedis(portWithFreeBusPort(), List.of("--cluster-enabled", "yes",
                        "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")));
            }
            List<String> create = new ArrayList<>(List.of(
                    System.getProperty("usher.test.redis.cli", "redis-cli"), "--cluster", "create"));
            nodes.forEach(n -> create.add("127.0.0.1:" + n.port()));
            create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
            Process cli = new ProcessBuilder(create).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!cli.waitFor(60, TimeUnit.SECONDS) || cli.exitValue() != 0) {
                throw new IOException("redis-cli --cluster create failed: " + create);
            }
            for (int attempt = 0; !allReady(); attempt++) {
                if (attempt > 400) {
                    throw new IOException("cluster did not reach cluster_state:ok");
                }
                DedicatedRedis.sleepBriefly();
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private boolean allReady() {
        for (DedicatedRedis n : nodes) {
            try (Jedis jedis = n.connect()) {
                if (!jedis.clusterInfo().contains("cluster_state:ok")) {
                    return false;
                }
            }
        }
        return true;
    }

    /** A port whose cluster bus port (+10000) is free too. */
    private static int portWithFreeBusPort() throws IOException {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        for (int attempt = 0; attempt < 100; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(20_000, 30_000);
            if (bindable(port, loopback) && bindable(port + 10_000, loopback)) {
                return port;
            }
        }
        throw new IOException("no free port pair (p, p+10000) found");
    }

    private static boolean bindable(int port, InetAddress address) {
        try {
            new ServerSocket(port, 1, address).close();
            return true;
        } catch (IOException taken) {
            return false;
        }
    }

    public Set<HostAndPort> seeds() {
        return nodes.stream().map(n -> new HostAndPort("127.0.0.1", n.port())).collect(Collectors.toSet());
    }

    public List<DedicatedRedis> nodes() {
        return nodes;
    }

    @Override
    public void close() throws IOException {
        for (DedicatedRedis n : nodes) {
            n.close();
        }
    }
}
