package dev.usher.session.spring;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * A redis-server of one test's own on a free loopback port, so that what it counts is only this test's
 * traffic; never the shared server. Stopped by its process (PID), never by name. (session-redis has the
 * fuller helper in its test sources, which are not published.)
 */
final class DedicatedRedis implements AutoCloseable {
    private final int port;
    private final Path dir;
    private final Process process;

    DedicatedRedis() throws IOException {
        try (ServerSocket probe = new ServerSocket(0)) {
            this.port = probe.getLocalPort();
        }
        this.dir = Files.createTempDirectory("usher-spring-redis-");
        String binary = System.getProperty("usher.test.redis.server", "redis-server");
        this.process = new ProcessBuilder(List.of(binary, "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--dir", dir.toString(), "--save", "", "--appendonly", "no", "--daemonize", "no"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
        for (int attempt = 0; attempt < 400; attempt++) {
            if (!process.isAlive()) {
                throw new IOException("redis-server on port " + port + " exited with " + process.exitValue()
                        + "; see " + dir.resolve("redis.log"));
            }
            try (Jedis jedis = connect()) {
                if ("PONG".equals(jedis.ping())) {
                    return;
                }
            } catch (RuntimeException e) {
                pause();
            }
        }
        close();
        throw new IOException("redis-server on port " + port + " did not answer PING");
    }

    String uri() {
        return "redis://127.0.0.1:" + port;
    }

    Jedis connect() {
        return new Jedis(new HostAndPort("127.0.0.1", port));
    }

    private static void pause() {
        // Polling a process we just launched for readiness; there is nothing to wait on instead.
        try {
            Thread.sleep(25);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() throws IOException {
        try {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
