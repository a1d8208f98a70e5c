package dev.usher.examples.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Over real sockets: 10,000 clients wait behind two runs that do not end, then all close their
 * connections; the line is empty within 10 seconds, found by the keep-alive writes alone (nobody's
 * position changes meanwhile). The server runs in its own JVM, so client and server sockets each count
 * against their own process's open-file limit; the clients are non-blocking NIO channels on one thread.
 */
@Tag("slow")
class DepartedClientsTest {
    private static final int CLIENTS = Integer.getInteger("usher.test.departedClients", 10_000);
    private static final byte[] REQUEST_BODY = "{\"prompt\":\"hello\"}".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path data;
    private Process server;
    private final List<SocketChannel> channels = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (SocketChannel c : channels) {
            c.close();
        }
        if (server != null) {
            server.getOutputStream().close(); // ServerProcess stops when its input ends
            server.destroy();
            if (!server.waitFor(30, TimeUnit.SECONDS)) {
                server.destroyForcibly();
            }
        }
    }

    @Test
    void tenThousandWaitingClientsThatLeaveAreGoneFromTheLineWithinTenSeconds() throws Exception {
        long limit = openFilesLimit();
        assertThat(limit).as("this JVM's open-file limit (ulimit -n); the test holds %d sockets: raise it, "
                + "e.g. ulimit -n %d, as scripts/test.sh does", CLIENTS, CLIENTS + 1_000).isGreaterThanOrEqualTo(CLIENTS + 500);
        int port = startServer();
        HttpClient http = HttpClient.newHttpClient();

        // Two runs that do not end in this test's lifetime: the line stands still.
        List<SocketChannel> runs = new ArrayList<>();
        try (Selector selector = Selector.open()) {
            for (int i = 0; i < 2; i++) {
                runs.add(open(selector, port, null));
            }
            awaitEvents(selector, runs, "\"type\":\"started\"", Duration.ofSeconds(60));
        }
        assertThat(queue(http, port)).containsEntry("running", 2);

        // The waiting clients are tabs of one logged-in user: what is measured is how departures are found,
        // and one session spares the server 10,000 session and workspace creations (minutes on a loaded
        // machine) that have nothing to do with it. The user's requests queue behind each other (one run
        // per session), so nobody's position changes while they wait.
        HttpResponse<String> login = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/login"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"user\":\"crowd\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(login.statusCode()).isEqualTo(200);
        String cookie = login.headers().firstValue("Set-Cookie").orElseThrow().split(";", 2)[0];
        List<SocketChannel> waiting = new ArrayList<>();
        try (Selector selector = Selector.open()) {
            // At most a few hundred handshakes in flight, so the server's accept backlog never overflows.
            while (waiting.size() < CLIENTS) {
                List<SocketChannel> batch = new ArrayList<>();
                for (int i = 0; i < 250 && waiting.size() + batch.size() < CLIENTS; i++) {
                    batch.add(open(selector, port, cookie));
                }
                awaitEvents(selector, batch, "\"type\":\"queued\"", Duration.ofSeconds(120));
                waiting.addAll(batch);
            }
        }
        assertThat(queue(http, port)).containsEntry("queued", CLIENTS).containsEntry("running", 2);

        long leftAt = System.nanoTime();
        for (SocketChannel c : waiting) {
            c.close();
        }
        long deadline = leftAt + TimeUnit.SECONDS.toNanos(60);
        int queued = CLIENTS;
        while (queued > 0 && System.nanoTime() < deadline) {
            Thread.sleep(100);
            queued = ((Number) queue(http, port).get("queued")).intValue();
        }
        Duration empty = Duration.ofNanos(System.nanoTime() - leftAt);
        System.out.printf("%d departed clients gone from the line after %d ms%n", CLIENTS, empty.toMillis());
        assertThat(queued).as("waiting after every client left").isZero();
        assertThat(empty).as("time until the line was empty").isLessThanOrEqualTo(Duration.ofSeconds(10));
        // The runs' clients are still there and still running: only the departed left.
        assertThat(queue(http, port)).containsEntry("running", 2);
    }

    private int startServer() throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xss256k", "-cp", System.getProperty("java.class.path"),
                ServerProcess.class.getName());
        Map<String, String> env = pb.environment();
        env.put("USHER_PORT", "0");
        env.put("USHER_STORE", "memory");
        env.put("USHER_DATA_DIR", data.toString());
        env.put("USHER_MAX_RUNNING", "2");
        env.put("USHER_MAX_QUEUED", Integer.toString(CLIENTS + 100));
        env.put("USHER_MAX_WAIT_SECONDS", "3600");
        env.put("USHER_REQUESTS_PER_MINUTE", "1000000");
        env.put("USHER_BURST_PER_SECOND", "1000000");
        env.put("USHER_TOKEN_DELAY_MS", "3600000");
        env.put("USHER_KEEPALIVE_MS", "2000");
        pb.redirectErrorStream(true);
        pb.redirectInput(ProcessBuilder.Redirect.PIPE);
        server = pb.start();
        BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        Pattern started = Pattern.compile("http://localhost:(\\d+)/");
        String line;
        while ((line = out.readLine()) != null) {
            Matcher m = started.matcher(line);
            if (m.find()) {
                // Keep draining its output so the server never blocks on a full pipe.
                Thread drain = new Thread(() -> out.lines().forEach(l -> { }), "server-output");
                drain.setDaemon(true);
                drain.start();
                return Integer.parseInt(m.group(1));
            }
        }
        throw new AssertionError("the example server exited before it listened");
    }

    private SocketChannel open(Selector selector, int port, String cookie) throws IOException {
        SocketChannel c = SocketChannel.open();
        channels.add(c);
        c.configureBlocking(false);
        c.connect(new InetSocketAddress("127.0.0.1", port));
        c.register(selector, SelectionKey.OP_CONNECT, new Connection(cookie));
        return c;
    }

    /** Per channel: the request still to write and what has been read so far. */
    private static final class Connection {
        final ByteBuffer request;
        final StringBuilder read = new StringBuilder();
        boolean seen;

        Connection(String cookie) {
            request = ByteBuffer.wrap(("POST /api/workflow/execute HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + (cookie == null ? "" : "Cookie: " + cookie + "\r\n")
                    + "Content-Type: application/json\r\nContent-Length: " + REQUEST_BODY.length + "\r\n\r\n"
                    + new String(REQUEST_BODY, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Drives the channels until each has received {@code marker}; stops reading those that have. */
    private static void awaitEvents(Selector selector, List<SocketChannel> channels, String marker, Duration timeout)
            throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        ByteBuffer buffer = ByteBuffer.allocate(8192);
        int pending = channels.size();
        while (pending > 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(pending + " of " + channels.size() + " clients did not see " + marker
                        + " within " + timeout);
            }
            selector.select(100);
            for (SelectionKey key : selector.selectedKeys()) {
                SocketChannel c = (SocketChannel) key.channel();
                Connection conn = (Connection) key.attachment();
                if (key.isConnectable() && c.finishConnect()) {
                    key.interestOps(SelectionKey.OP_WRITE);
                }
                if (key.isValid() && key.isWritable()) {
                    c.write(conn.request);
                    if (!conn.request.hasRemaining()) {
                        key.interestOps(SelectionKey.OP_READ);
                    }
                }
                if (key.isValid() && key.isReadable()) {
                    buffer.clear();
                    int n = c.read(buffer);
                    if (n < 0) {
                        throw new AssertionError("the server closed a connection before " + marker + ": " + conn.read);
                    }
                    conn.read.append(new String(buffer.array(), 0, n, StandardCharsets.UTF_8));
                    if (!conn.seen && conn.read.indexOf(marker) >= 0) {
                        conn.seen = true;
                        pending--;
                        key.cancel(); // from here on the client reads nothing, as a stalled tab would
                    }
                }
            }
            selector.selectedKeys().clear();
        }
        selector.selectNow(); // flushes the cancelled keys
    }

    private static Map<String, Object> queue(HttpClient http, int port) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/queue"))
                .build(), HttpResponse.BodyHandlers.ofString());
        @SuppressWarnings("unchecked")
        Map<String, Object> body = Client.JSON.readValue(r.body(), Map.class);
        return body;
    }

    /** The soft limit on open files of this process, from /proc (Linux, where the build runs). */
    private static long openFilesLimit() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) {
                String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
                return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
            }
        }
        throw new AssertionError("no 'Max open files' line in /proc/self/limits");
    }
}
