package dev.usher.session.redis;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * A redis-server of one test's own, on a free loopback port, for tests that kill, stop or count: never the
 * shared servers. Data is kept in an append-only file fsynced on every write, so a {@code kill -9} loses
 * nothing that was acknowledged. Stopped by its process (PID), never by name. Shared with the other modules'
 * tests through session-redis's test-jar.
 */
public final class DedicatedRedis implements AutoCloseable {
    private final int port;
    private final Path dir;
    private final List<String> extraArgs;
    private Process process;

    public DedicatedRedis() throws IOException {
        this(freePort(), List.of());
    }

    public DedicatedRedis(int port, List<String> extraArgs) throws IOException {
        this.port = port;
        this.extraArgs = List.copyOf(extraArgs);
        this.dir = Files.createTempDirectory("usher-redis-");
        start();
    }

    public static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0)) {
            return probe.getLocalPort();
        }
    }

    public int port() {
        return port;
    }

    public String uri() {
        return "redis://127.0.0.1:" + port;
    }

    public long pid() {
        return process.pid();
    }

    /** Starts (or restarts, on the same port and data) the server and waits until it answers PING. */
    public void start() throws IOException {
        String binary = System.getProperty("usher.test.redis.server", "redis-server");
        List<String> command = new ArrayList<>(List.of(binary, "--port", Integer.toString(port), "--bind",
                "127.0.0.1", "--dir", dir.toString(), "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                "--daemonize", "no", "--logfile", dir.resolve("redis.log").toString()));
        command.addAll(extraArgs);
        process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("stdout.log").toFile()).start();
        IOException last = null;
        for (int attempt = 0; attempt < 200; attempt++) {
            if (!process.isAlive()) {
                throw new IOException("redis-server on port " + port + " exited with " + process.exitValue()
                        + "; see " + dir.resolve("redis.log"));
            }
            try (Jedis jedis = new Jedis(new HostAndPort("127.0.0.1", port))) {
                if ("PONG".equals(jedis.ping())) {
                    return;
                }
            } catch (RuntimeException e) {
                last = new IOException(e);
            }
            sleepBriefly();
        }
        throw new IOException("redis-server on port " + port + " did not answer PING", last);
    }

    /** SIGTERM, and returns once the server has exited; {@link #start()} starts it again. */
    public void stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            kill9();
        }
    }

    /** SIGKILL: no shutdown, no goodbye to clients. */
    public void kill9() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGSTOP / SIGCONT: the server keeps its sockets but stops answering, like a hung host. */
    public void freeze() throws IOException, InterruptedException {
        signal("STOP");
    }

    public void thaw() throws IOException, InterruptedException {
        signal("CONT");
    }

    private void signal(String name) throws IOException, InterruptedException {
        int rc = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor();
        if (rc != 0) {
            throw new IOException("kill -" + name + " " + process.pid() + " exited with " + rc);
        }
    }

    public Jedis connect() {
        return new Jedis(new HostAndPort("127.0.0.1", port));
    }

    @Override
    public void close() throws IOException {
        try {
            if (process.isAlive()) {
                thaw();
                process.destroy();
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    kill9();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    public static void sleepBriefly() {
        // Polling a process we just launched for readiness; there is nothing to wait on instead.
        try {
            Thread.sleep(25);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
