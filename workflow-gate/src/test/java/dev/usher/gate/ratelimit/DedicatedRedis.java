package dev.usher.gate.ratelimit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;

/**
 * A redis-server process of this test's own, on a free loopback port, so that stopping it disturbs no
 * one. Stopped by its own process handle (its PID), never by name.
 */
final class DedicatedRedis implements AutoCloseable {
    final int port;
    private Process process;

    private DedicatedRedis(int port) {
        this.port = port;
    }

    static DedicatedRedis start() throws IOException {
        DedicatedRedis redis = new DedicatedRedis(freePort());
        redis.startProcess();
        return redis;
    }

    String uri() {
        return "redis://127.0.0.1:" + port;
    }

    /** Starts the server (again) on the same port and returns once it accepts connections. */
    void startProcess() throws IOException {
        process = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--loglevel", "notice")
                .redirectErrorStream(true)
                .start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder log = new StringBuilder();
        String line;
        while ((line = out.readLine()) != null) {
            log.append(line).append('\n');
            if (line.contains("Ready to accept connections")) {
                drain(out);
                return;
            }
        }
        throw new IllegalStateException("redis-server on port " + port + " did not start:\n" + log);
    }

    /** Stops the server (SIGTERM to its PID) and waits for it to exit. */
    void stopProcess() throws InterruptedException {
        process.destroy();
        process.waitFor();
    }

    /** SIGSTOP: the server keeps its sockets and stops answering, like a hung host. */
    void freeze() throws IOException, InterruptedException {
        signal("STOP");
    }

    /** SIGCONT after {@link #freeze()}. */
    void thaw() throws IOException, InterruptedException {
        signal("CONT");
    }

    private void signal(String name) throws IOException, InterruptedException {
        int rc = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor();
        if (rc != 0) {
            throw new IOException("kill -" + name + " " + process.pid() + " exited with " + rc);
        }
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            try {
                thaw();
            } catch (IOException | InterruptedException e) {
                process.destroyForcibly();
            }
            try {
                stopProcess();
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Keeps reading the server's output so that a full pipe never blocks it. */
    private static void drain(BufferedReader out) {
        Thread t = new Thread(() -> {
            try {
                while (out.readLine() != null) {
                    // discard
                }
            } catch (IOException e) {
                // the process is gone
            }
        }, "dedicated-redis-output");
        t.setDaemon(true);
        t.start();
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
