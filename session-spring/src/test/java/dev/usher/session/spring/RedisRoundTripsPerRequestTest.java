package dev.usher.session.spring;

import dev.usher.session.redis.DedicatedRedis;
import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.SessionManager;
import dev.usher.session.TestClock;
import dev.usher.session.redis.DedicatedRedis;
import dev.usher.session.redis.RedisSessionStore;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import org.apache.catalina.startup.Tomcat;
import org.springframework.session.web.http.SessionRepositoryFilter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * What one HTTP request through Spring Session's filter costs on Redis with this repository, counted by the
 * server (on a redis-server of this test's own, so no other client is counted): {@code total_reads_processed}
 * is one socket read per request the client sends and waits for, and {@code INFO commandstats} shows which
 * commands they were (the commands a Lua script runs are counted there too, but are not network reads). A request is what {@code SessionRepositoryFilter} does: {@code findById} (or
 * {@code createSession}), {@code setLastAccessedTime(now)}, the handler's attribute calls, {@code save};
 * the last test sends real HTTP requests through that filter on an embedded Tomcat.
 */
@Tag("server")
class RedisRoundTripsPerRequestTest {
    private static DedicatedRedis server;
    private static Jedis probe;
    private final TestClock clock = new TestClock();
    private SessionManager manager;
    private UsherSessionRepository repository;

    @BeforeAll
    static void startServer() throws Exception {
        server = new DedicatedRedis();
        probe = server.connect();
    }

    @AfterAll
    static void stopServer() throws Exception {
        probe.close();
        server.close();
    }

    @BeforeEach
    void warmUp() {
        manager = SessionManager.builder(RedisSessionStore.builder().uri(server.uri()).keyPrefix("rt:").build())
                .clock(clock).idleTimeout(Duration.ofMinutes(30)).sweepInterval(Duration.ZERO).build();
        repository = UsherSessionRepository.builder(manager).clock(clock).build();
        // The first use of each script loads it into the server (NOSCRIPT, then EVAL): not the steady state.
        UsherSpringSession warm = repository.createSession();
        warm.setAttribute("w", 1);
        repository.save(warm);
        warm.changeSessionId();
        clock.advance(Duration.ofMinutes(4));
        repository.findById(warm.getId());
        repository.deleteById(warm.getId());
    }

    @org.junit.jupiter.api.AfterEach
    void close() {
        repository.close();
        manager.close();
    }

    private record Sent(long roundTrips, Map<String, Long> commands) {
    }

    private Sent measure(Runnable request) {
        long before = reads() + 1; // + the commandstats INFO that follows
        Map<String, Long> callsBefore = commandCalls();
        request.run();
        long after = reads() - 1; // - the read of this INFO itself
        Map<String, Long> delta = new HashMap<>();
        commandCalls().forEach((cmd, calls) -> {
            long d = calls - callsBefore.getOrDefault(cmd, 0L) - (cmd.equals("info") ? 2 : 0);
            if (d != 0) {
                delta.put(cmd, d);
            }
        });
        return new Sent(after - before, delta);
    }

    private static long reads() {
        String stats = probe.info("stats");
        int at = stats.indexOf("total_reads_processed:");
        return Long.parseLong(stats.substring(at + 22, stats.indexOf("\r\n", at)));
    }

    private static Map<String, Long> commandCalls() {
        Map<String, Long> calls = new HashMap<>();
        for (String line : probe.info("commandstats").split("\r\n")) {
            if (line.startsWith("cmdstat_")) {
                String rest = line.substring(line.indexOf("calls=") + 6);
                calls.put(line.substring(8, line.indexOf(':')), Long.parseLong(rest.substring(0, rest.indexOf(','))));
            }
        }
        return calls;
    }

    private String existingSession() {
        UsherSpringSession s = repository.createSession();
        s.setAttribute("cart", "2 books");
        repository.save(s);
        return s.getId();
    }

    @Test
    void measuringNothingCountsNothing() {
        Sent nothing = measure(() -> { });
        assertThat(nothing.roundTrips()).isZero();
        assertThat(nothing.commands()).isEmpty();
    }

    @Test
    void aRequestThatOnlyReadsTheSessionIsOneRoundTrip() {
        String id = existingSession();
        clock.advance(Duration.ofSeconds(30));
        Sent read = measure(() -> {
            UsherSpringSession s = repository.findById(id);
            s.setLastAccessedTime(clock.instant());
            assertThat(s.<String>getAttribute("cart")).isEqualTo("2 books");
            repository.save(s);
        });
        assertThat(read.roundTrips()).isEqualTo(1);
        assertThat(read.commands()).containsOnly(Map.entry("hgetall", 1L));
    }

    @Test
    void aReadOnceTheAccessIsDueToBeRecordedAddsOneWrite() {
        String id = existingSession();
        clock.advance(Duration.ofMinutes(4)); // past the touch threshold (0.1 of 30 minutes)
        Sent read = measure(() -> repository.save(repository.findById(id)));
        assertThat(read.roundTrips()).isEqualTo(2);
        assertThat(read.commands()).containsEntry("hgetall", 1L).containsEntry("evalsha", 1L);
    }

    @Test
    void aRequestThatChangesAttributesIsTwoRoundTrips() {
        String id = existingSession();
        Sent write = measure(() -> {
            UsherSpringSession s = repository.findById(id);
            s.setAttribute("cart", "3 books");
            s.setAttribute("visits", 7);
            s.removeAttribute("gone");
            repository.save(s);
        });
        // findById (HGETALL) + save = SessionManager.update on the session in hand: the compare-and-set alone.
        assertThat(write.roundTrips()).isEqualTo(2);
        assertThat(write.commands()).containsEntry("hgetall", 1L).containsEntry("evalsha", 1L);
    }

    @Test
    void aRequestThatStartsASessionIsTwoRoundTrips() {
        Sent start = measure(() -> {
            UsherSpringSession s = repository.createSession();
            s.setAttribute("cart", "1 book");
            repository.save(s);
        });
        // the insert, then the compare-and-set on the session it returned
        assertThat(start.roundTrips()).isEqualTo(2);
        assertThat(start.commands()).doesNotContainKey("hgetall").containsEntry("evalsha", 2L);
    }

    @Test
    void changeSessionIdAndDeleteCostWhatTheManagerCosts() {
        String id = existingSession();
        Sent change = measure(() -> repository.findById(id).changeSessionId());
        // findById (1) + SessionManager.changeId: load (1) + the store's atomic move (2).
        assertThat(change.roundTrips()).isEqualTo(4);
        Sent delete = measure(() -> repository.deleteById(id));
        assertThat(delete.roundTrips()).as("deleting a gone id").isEqualTo(1);
    }

    /** A servlet that only reads the session on GET /read and changes it on GET /write. */
    static final class CartServlet extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            String body = switch (req.getRequestURI()) {
                case "/read" -> String.valueOf(req.getSession().getAttribute("cart"));
                case "/write" -> {
                    req.getSession().setAttribute("cart", req.getParameter("cart"));
                    yield "saved";
                }
                default -> "?";
            };
            resp.setContentType("text/plain");
            resp.getWriter().write(body);
        }
    }

    @Test
    void throughSpringSessionsFilterOnTomcatAReadIsOneRoundTripAndAWriteTwo() throws Exception {
        Tomcat tomcat = SpringSessionTomcat.start(Files.createTempDirectory("usher-rt-tomcat"), new CartServlet(), repository);
        try {
            HttpClient http = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + tomcat.getConnector().getLocalPort();
            String id = existingSession();
            String cookie = "SESSION=" + Base64.getEncoder().encodeToString(id.getBytes(StandardCharsets.UTF_8));
            Map<String, String> bodies = new HashMap<>();
            Sent read = measure(() -> bodies.put("read", send(http, base + "/read", cookie)));
            assertThat(bodies.get("read")).isEqualTo("2 books");
            assertThat(read.roundTrips()).as("findById's HGETALL only").isEqualTo(1);
            assertThat(read.commands()).containsOnly(Map.entry("hgetall", 1L));

            Sent write = measure(() -> bodies.put("write", send(http, base + "/write?cart=4", cookie)));
            assertThat(bodies.get("write")).isEqualTo("saved");
            assertThat(write.roundTrips()).as("findById, then save's compare-and-set").isEqualTo(2);
            // (the commands the script runs inside Redis are counted in commandstats too, but are no round trips)
            assertThat(write.commands()).containsEntry("hgetall", 1L).containsEntry("evalsha", 1L);
            assertThat(repository.findById(id).<String>getAttribute("cart")).isEqualTo("4");
        } finally {
            tomcat.stop();
            tomcat.destroy();
        }
    }

    private static String send(HttpClient http, String url, String cookie) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).header("Cookie", cookie).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().allValues("Set-Cookie")).as("the session came back").isEmpty();
            return r.body();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
