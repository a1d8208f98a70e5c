package dev.usher.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.Jedis;

/**
 * Counts the commands a client sends to Redis for an operation, read from the server's {@code MONITOR}
 * stream. Commands that a Lua script runs inside the server show as {@code [.. lua]} and are not round
 * trips, so they are left out; so is every command that does not name the benchmark's key namespace
 * (other clients of a shared server). {@code INFO commandstats} cannot make either distinction.
 *
 * <p>Not thread-safe; owns its two connections and closes them in {@link #close()}.
 */
final class RedisMonitor implements AutoCloseable {
    private final Socket socket;
    private final Jedis marker;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Thread reader;

    RedisMonitor(String host, int port) {
        try {
            socket = new Socket(host, port);
            OutputStream out = socket.getOutputStream();
            out.write("MONITOR\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            if (!"+OK".equals(in.readLine())) {
                throw new IllegalStateException("Redis at " + host + ":" + port + " refused MONITOR");
            }
            reader = new Thread(() -> {
                try {
                    for (String line = in.readLine(); line != null; line = in.readLine()) {
                        lines.add(line);
                    }
                } catch (IOException closed) {
                    // close() shuts the socket: the end of the stream.
                }
            }, "usher-bench-redis-monitor");
            reader.setDaemon(true);
            reader.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot reach Redis at " + host + ":" + port, e);
        }
        marker = new Jedis(host, port);
    }

    /**
     * Runs {@code operation} {@code times} times and answers the client commands per operation that named
     * {@code namespace}, by command name.
     */
    Map<String, Double> commandsPerOperation(String namespace, int times, Runnable operation) throws InterruptedException {
        String begin = "usher-bench-mark-" + UUID.randomUUID();
        String end = "usher-bench-mark-" + UUID.randomUUID();
        marker.echo(begin);
        for (int i = 0; i < times; i++) {
            operation.run();
        }
        marker.echo(end);
        List<String> window = new ArrayList<>();
        boolean inside = false;
        while (true) {
            String line = lines.poll(30, TimeUnit.SECONDS);
            if (line == null) {
                throw new IllegalStateException("MONITOR stream did not show the end marker within 30 s");
            }
            if (line.contains(begin)) {
                inside = true;
            } else if (line.contains(end)) {
                break;
            } else if (inside) {
                window.add(line);
            }
        }
        Map<String, Double> perOperation = new TreeMap<>();
        for (String line : window) {
            int source = line.indexOf('[');
            int close = line.indexOf(']', source);
            if (source < 0 || close < 0 || line.substring(source, close).contains("lua") || !line.contains(namespace)) {
                continue;
            }
            int start = line.indexOf('"', close) + 1;
            String command = line.substring(start, line.indexOf('"', start)).toUpperCase(Locale.ROOT);
            perOperation.merge(command, 1.0 / times, Double::sum);
        }
        return perOperation;
    }

    @Override
    public void close() throws IOException {
        marker.close();
        socket.close();
    }
}
