package dev.usher.benchmarks;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.usher.gate.GateOutcome;
import dev.usher.gate.GateRequest;
import dev.usher.gate.QueueObserver;
import dev.usher.gate.WorkflowGate;
import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.ratelimit.Limit;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.gate.workspace.WorkspaceAllocator;
import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the gate costs a request, set against the request itself: one JDK {@link HttpServer} (the server the
 * example runs on) with a bare handler and a handler that passes each request through a
 * {@link WorkflowGate} wired like the example's (in-memory sessions, rate limit, workspace, admission queue,
 * workflow lease) before answering. Each benchmark thread calls one or the other over loopback on its own
 * keep-alive HTTP/1.1 connection, each request under one of {@value #SESSIONS} existing sessions.
 *
 * <p>The client is a few lines of blocking socket I/O on the benchmark thread ({@link Connection}), not the
 * JDK {@code HttpClient}: that client hands every request and response between its caller, its selector
 * thread and its executor, which on two cores shared by client and server cost about as much CPU as the
 * server itself and, at each hand-off, waited for a core, so both rows measured mostly the client and the
 * scheduler (error bars of 30-40%). The client is the same for both rows and is no part of either server
 * path; a lighter one only makes the gate's share of a request larger, so the ratio is, if anything, stricter.
 */
@State(Scope.Benchmark)
public class GatePathBenchmark {
    static final int SESSIONS = 1 << 8;
    private static final String SESSION_HEADER = "X-Session-Id";

    private final String[] sessionIds = new String[SESSIONS];
    private Path root;
    private WorkflowGate<Object> gate;
    private HttpServer server;
    private ExecutorService handlers;
    private int port;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        root = Servers.temporaryDirectory("usher-bench-gate-");
        SessionManager sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
        gate = WorkflowGate.builder(sessions,
                        AdmissionQueue.builder(AdmissionBenchmark.MAX_RUNNING).name("bench-gate").build(),
                        WorkflowCache.<String, Object>builder(id -> new Object()).maximumSize(SESSIONS * 2L).build())
                .rateLimiter(RateLimiter.builder()
                        .limit(Limit.of("bench", RateLimiterBenchmark.QUOTA, RateLimiterBenchmark.WINDOW))
                        .build())
                .workspaces(WorkspaceAllocator.builder(root.resolve("workspaces"), sessions)
                        .releaseWhenSessionEnds(false)
                        .build())
                .build();
        for (int i = 0; i < SESSIONS; i++) {
            sessionIds[i] = sessions.create("user-" + i, Map.of()).id();
        }

        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        handlers = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "usher-bench-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(handlers);
        server.createContext("/bare", exchange -> respond(exchange, 200));
        server.createContext("/gated", this::gated);
        server.start();
        port = server.getAddress().getPort();
        try (Connection first = new Connection()) {
            first.open(this);
            for (String id : sessionIds) { // the first request of a session allocates its workspace
                first.call("/gated", id);
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        server.stop(0);
        handlers.shutdownNow();
        gate.close();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private void gated(HttpExchange exchange) throws IOException {
        String id = exchange.getRequestHeaders().getFirst(SESSION_HEADER);
        GateOutcome<Object> outcome;
        try {
            outcome = gate.enter(new GateRequest(id, id, null), QueueObserver.ignoring());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            respond(exchange, 503);
            return;
        }
        if (outcome instanceof GateOutcome.Admitted<Object> run) {
            run.close();
            respond(exchange, 200);
        } else {
            respond(exchange, outcome instanceof GateOutcome.RateLimited ? 429 : 503);
        }
    }

    private static void respond(HttpExchange exchange, int status) throws IOException {
        exchange.sendResponseHeaders(status, -1);
        exchange.close();
    }

    /**
     * One benchmark thread's keep-alive connection: writes a GET and reads the response headers on the
     * calling thread (the handlers answer with no body). Reconnects if the server closed the connection
     * between two requests.
     */
    @State(Scope.Thread)
    public static class Connection implements AutoCloseable {
        private int port;
        private Socket socket;
        private OutputStream out;
        private InputStream in;

        @Setup(Level.Trial)
        public void open(GatePathBenchmark benchmark) throws IOException {
            port = benchmark.port;
            connect();
        }

        private void connect() throws IOException {
            socket = new Socket(InetAddress.getLoopbackAddress(), port);
            socket.setTcpNoDelay(true);
            out = new BufferedOutputStream(socket.getOutputStream(), 512);
            in = new BufferedInputStream(socket.getInputStream(), 512);
        }

        @TearDown(Level.Trial)
        @Override
        public void close() throws IOException {
            socket.close();
        }

        int call(String path, String sessionId) {
            try {
                int status = exchange(path, sessionId);
                if (status < 0) { // closed by the server before this request was answered: once more
                    socket.close();
                    connect();
                    status = exchange(path, sessionId);
                }
                if (status != 200) {
                    throw new IllegalStateException(path + " answered " + status + ": the measurement is void");
                }
                return status;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** The response's status, or -1 when the connection was closed before any of it arrived. */
        private int exchange(String path, String sessionId) throws IOException {
            out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n" + SESSION_HEADER + ": "
                    + sessionId + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            String statusLine = readLine();
            if (statusLine == null) {
                return -1;
            }
            long contentLength = 0;
            for (String header = readLine(); header != null && !header.isEmpty(); header = readLine()) {
                int colon = header.indexOf(':');
                String name = colon < 0 ? header : header.substring(0, colon).trim();
                if (name.equalsIgnoreCase("Content-length")) {
                    contentLength = Long.parseLong(header.substring(colon + 1).trim());
                } else if (name.equalsIgnoreCase("Transfer-encoding")) {
                    throw new IllegalStateException("unexpected chunked response: " + header);
                }
            }
            in.skipNBytes(contentLength);
            return Integer.parseInt(statusLine.substring(9, 12));
        }

        /** A header line without its CRLF; null at the end of the stream before any byte of it. */
        private String readLine() throws IOException {
            StringBuilder line = new StringBuilder(64);
            while (true) {
                int b = in.read();
                if (b < 0) {
                    if (line.length() == 0) {
                        return null;
                    }
                    throw new EOFException("connection closed inside a response header");
                }
                if (b == '\n') {
                    int last = line.length() - 1;
                    if (last >= 0 && line.charAt(last) == '\r') {
                        line.setLength(last);
                    }
                    return line.toString();
                }
                line.append((char) b);
            }
        }
    }

    @Benchmark
    public int bareHandler(Cursor c, Connection connection) {
        return connection.call("/bare", sessionIds[c.next(SESSIONS)]);
    }

    @Benchmark
    public int usherGatePath(Cursor c, Connection connection) {
        return connection.call("/gated", sessionIds[c.next(SESSIONS)]);
    }
}
