package dev.usher.examples.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.Session;
import dev.usher.session.SessionPage;
import java.io.InputStream;
import java.net.CookieManager;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example as a hostile client meets it, behind a stand-in reverse proxy on loopback that trusts
 * nothing but itself ({@link StandInProxy}, connecting from 127.0.0.2; direct clients are on 127.0.0.1).
 * Every session id the server ever hands out is collected, and the log output of the whole class is
 * checked for any of them at the end.
 */
@Tag("slow")
class HostileClientTest {
    private static final String TOKEN = "hostile-test-admin-token-" + new SecureRandom().nextInt(1_000_000);
    private static final Pattern SET_COOKIE_ID = Pattern.compile("USHER_SESSION=([A-Za-z0-9_-]+)");
    private static final Set<String> idsSeen = ConcurrentHashMap.newKeySet();
    private static LogCapture logs;

    @TempDir
    Path dataDir;
    private ChatServer server;
    private StandInProxy proxy;

    @BeforeAll
    static void captureLogs() {
        logs = new LogCapture();
    }

    @AfterAll
    static void noWholeIdInTheLogs() {
        logs.close();
        String text = logs.text();
        // The capture works: the refused admin requests of this class were logged.
        assertThat(text).contains("admin: refused");
        assertThat(idsSeen).hasSizeGreaterThan(5);
        for (String id : idsSeen) {
            assertThat(text).as("a whole session id in the log output").doesNotContain(id);
        }
    }

    private ChatServer start(Map<String, String> overrides) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("USHER_PORT", "0");
        env.put("USHER_DATA_DIR", dataDir.toString());
        env.put("USHER_TOKEN_DELAY_MS", "1");
        env.put("USHER_TRUSTED_PROXIES", StandInProxy.PROXY_ADDRESS);
        env.put("USHER_ADMIN_TOKEN", TOKEN);
        env.putAll(overrides);
        server = ChatServer.start(Config.from(env));
        proxy = new StandInProxy(server.port(), "http");
        return server;
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            for (Session s : allSessions()) {
                idsSeen.add(s.id());
            }
            server.close();
        }
        if (proxy != null) {
            proxy.close();
        }
    }

    private List<Session> allSessions() {
        List<Session> all = new ArrayList<>();
        String cursor = null;
        do {
            SessionPage page = server.gate().sessions().list(cursor, 500);
            all.addAll(page.sessions());
            cursor = page.nextCursor();
        } while (cursor != null);
        return all;
    }

    /** A browser behind the proxy, seen by the proxy as {@code address}. */
    private Client behindProxy(String address) {
        return new Client(proxy.uri(), new CookieManager()).header(StandInProxy.PEER_HEADER, address);
    }

    private Client direct() {
        return new Client(URI.create("http://127.0.0.1:" + server.port()), new CookieManager());
    }

    private static int execute(Client client) throws Exception {
        HttpResponse<InputStream> r = client.execute("hello");
        try (InputStream body = r.body()) {
            body.readAllBytes();
        }
        r.headers().allValues("Set-Cookie").forEach(HostileClientTest::remember);
        return r.statusCode();
    }

    private static void remember(String setCookie) {
        Matcher m = SET_COOKIE_ID.matcher(setCookie);
        if (m.find()) {
            idsSeen.add(m.group(1));
        }
    }

    @Test
    void theAdminApiRefusesWithoutTheTokenAndNeverHandsOutAUsableId() throws Exception {
        start(Map.of());
        for (int i = 0; i < 3; i++) {
            Client user = behindProxy("203.0.113." + (10 + i));
            user.login("user" + i);
            idsSeen.add(user.sessionId());
        }
        Client attacker = behindProxy("198.51.100.66");
        assertThat(attacker.get("/api/admin/sessions").statusCode()).isEqualTo(401);
        for (String wrong : List.of("Bearer", "Bearer ", "Bearer " + TOKEN.substring(0, TOKEN.length() - 1),
                "Bearer " + TOKEN + "x", "Basic " + TOKEN, TOKEN, "Bearer " + TOKEN.toUpperCase())) {
            attacker.header("Authorization", wrong);
            HttpResponse<String> r = attacker.get("/api/admin/sessions");
            assertThat(r.statusCode()).as(wrong).isEqualTo(401);
            assertThat(r.body()).contains("\"error\":401");
        }
        // Loopback is not trusted either: a direct client on 127.0.0.1 without the token is refused.
        assertThat(direct().get("/api/admin/sessions").statusCode()).isEqualTo(401);

        Client admin = behindProxy("192.0.2.1").header("Authorization", "Bearer " + TOKEN);
        HttpResponse<String> list = admin.get("/api/admin/sessions");
        assertThat(list.statusCode()).isEqualTo(200);
        List<Session> live = allSessions();
        assertThat(live).hasSize(3);
        for (Session s : live) {
            assertThat(list.body()).doesNotContain(s.id());
        }
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) Client.JSON.readValue(list.body(), Map.class).get("sessions");
        assertThat(rows).hasSize(3);
        for (Map<String, Object> row : rows) {
            for (Object value : row.values()) {
                if (value instanceof String text) {
                    assertThat(server.gate().sessions().find(text)).as("find(%s)", text).isEmpty();
                    Client hijacker = direct();
                    hijacker.useSession(text);
                    assertThat(hijacker.get("/api/workspace/files/").statusCode()).isEqualTo(401);
                }
            }
        }
        // A handle ends the session only with the token, and only the session it was made for.
        String handle = (String) rows.get(0).get("handle");
        assertThat(attacker.delete("/api/admin/sessions/" + handle).statusCode()).isEqualTo(401);
        assertThat(allSessions()).hasSize(3);
        assertThat(admin.delete("/api/admin/sessions/" + handle).statusCode()).isEqualTo(200);
        assertThat(allSessions()).hasSize(2);
        String forged = handle.substring(0, handle.length() - 2) + (handle.endsWith("AA") ? "BB" : "AA");
        assertThat(admin.delete("/api/admin/sessions/" + forged).statusCode()).isEqualTo(404);
        assertThat(allSessions()).hasSize(2);
    }

    @Test
    void theAdminListingPagesWithACursorThatHoldsNoId() throws Exception {
        start(Map.of());
        for (int i = 0; i < 130; i++) {
            idsSeen.add(server.gate().sessions().create("bulk" + i, Map.of()).id());
        }
        Client admin = behindProxy("192.0.2.1").header("Authorization", "Bearer " + TOKEN);
        List<String> ids = allSessions().stream().map(Session::id).toList();
        Set<String> handles = new java.util.HashSet<>();
        String cursor = null;
        int pages = 0;
        do {
            HttpResponse<String> r = admin.get("/api/admin/sessions" + (cursor == null ? "" : "?cursor=" + cursor));
            assertThat(r.statusCode()).isEqualTo(200);
            for (String id : ids) {
                assertThat(r.body()).doesNotContain(id);
            }
            Map<?, ?> json = Client.JSON.readValue(r.body(), Map.class);
            for (Object row : (List<?>) json.get("sessions")) {
                handles.add((String) ((Map<?, ?>) row).get("handle"));
            }
            cursor = (String) json.get("nextCursor");
            if (cursor != null) {
                assertThat(server.gate().sessions().find(cursor)).isEmpty();
                // a cursor is not a handle
                assertThat(admin.delete("/api/admin/sessions/" + cursor).statusCode()).isEqualTo(404);
            }
            pages++;
        } while (cursor != null);
        assertThat(pages).isEqualTo(2);
        assertThat(handles).hasSize(130);
        assertThat(admin.get("/api/admin/sessions?cursor=forged").statusCode()).isEqualTo(400);
    }

    @Test
    void clientsBehindTheProxyAreLimitedByTheirOwnAddressAndSpoofingDoesNotHelp() throws Exception {
        start(Map.of("USHER_REQUESTS_PER_MINUTE", "2", "USHER_BURST_PER_SECOND", "100"));
        // Cookie-less requests (a fresh cookie jar each time) from client A: the third is limited.
        assertThat(execute(behindProxy("203.0.113.10"))).isEqualTo(200);
        assertThat(execute(behindProxy("203.0.113.10"))).isEqualTo(200);
        assertThat(execute(behindProxy("203.0.113.10"))).isEqualTo(429);
        // Client B behind the same proxy has its own quota.
        assertThat(execute(behindProxy("203.0.113.20"))).isEqualTo(200);
        // A forges X-Forwarded-For towards the proxy: the proxy appends what it saw, the server takes that.
        assertThat(execute(behindProxy("203.0.113.10").header("X-Forwarded-For", "192.0.2.99"))).isEqualTo(429);
        // A direct client (untrusted peer 127.0.0.1) cannot pick its address with the header at all.
        assertThat(execute(direct().header("X-Forwarded-For", "192.0.2.1"))).isEqualTo(200);
        assertThat(execute(direct().header("X-Forwarded-For", "192.0.2.2"))).isEqualTo(200);
        assertThat(execute(direct().header("X-Forwarded-For", "192.0.2.3"))).isEqualTo(429);
        assertThat(execute(direct().header("X-Forwarded-For", "192.0.2.4").header("Forwarded", "for=192.0.2.4"))).isEqualTo(429);
    }

    @Test
    void tenThousandCookieLessRequestsFromOneAddressCreateAtMostTheConfiguredSessions() throws Exception {
        int limit = 5;
        start(Map.of("USHER_NEW_SESSIONS_PER_HOUR", Integer.toString(limit), "USHER_REQUESTS_PER_MINUTE", "100000000",
                "USHER_BURST_PER_SECOND", "100000000", "USHER_MAX_RUNNING", "8"));
        HttpClient http = HttpClient.newHttpClient(); // no cookie handler: every request arrives without a cookie
        URI execute = URI.create("http://127.0.0.1:" + server.port() + "/api/workflow/execute");
        URI login = URI.create("http://127.0.0.1:" + server.port() + "/api/login");
        SecureRandom random = new SecureRandom();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger limited = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<?>> futures = new ArrayList<>();
        int requests = 10_000;
        for (int t = 0; t < 8; t++) {
            int thread = t;
            futures.add(pool.submit(() -> {
                for (int i = thread; i < requests; i += 8) {
                    HttpRequest.Builder b;
                    if (i % 3 == 0) {
                        b = HttpRequest.newBuilder(login).POST(HttpRequest.BodyPublishers.ofString("{\"user\":\"u" + i + "\"}"));
                    } else {
                        b = HttpRequest.newBuilder(execute).POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"p\"}"));
                    }
                    if (i % 2 == 0) { // a made-up cookie of the right shape: it names no session
                        byte[] fake = new byte[32];
                        random.nextBytes(fake);
                        b.header("Cookie", "USHER_SESSION=" + Base64.getUrlEncoder().withoutPadding().encodeToString(fake));
                    }
                    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
                    r.headers().allValues("Set-Cookie").forEach(HostileClientTest::remember);
                    if (r.statusCode() == 200) {
                        ok.incrementAndGet();
                    } else if (r.statusCode() == 429) {
                        limited.incrementAndGet();
                    } else {
                        throw new AssertionError(r.statusCode() + " " + r.body());
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get(10, TimeUnit.MINUTES);
        }
        pool.shutdown();
        assertThat(ok.get() + limited.get()).isEqualTo(requests);
        assertThat(ok.get()).isLessThanOrEqualTo(limit);
        assertThat(allSessions().size()).isLessThanOrEqualTo(limit);
        assertThat(server.gate().sessions().stats().created()).isLessThanOrEqualTo(limit);
        try (var dirs = Files.list(dataDir.resolve("workspaces"))) {
            assertThat(dirs.filter(p -> !p.getFileName().toString().startsWith(".")).count()).isLessThanOrEqualTo(limit);
        }
        // Another address behind the proxy has its own allowance; the first address is still held back.
        assertThat(execute(behindProxy("203.0.113.77"))).isEqualTo(200);
        assertThat(execute(direct())).isEqualTo(429);
    }

    @Test
    void theCookieIsSecureWhenTheTrustedProxySaysHttps() throws Exception {
        start(Map.of());
        proxy.close();
        proxy = new StandInProxy(server.port(), "https");
        HttpResponse<InputStream> r = behindProxy("203.0.113.5").execute("hi");
        r.body().close();
        String setCookie = r.headers().firstValue("Set-Cookie").orElseThrow();
        remember(setCookie);
        assertThat(setCookie).contains("; Secure").contains("HttpOnly").contains("SameSite=Lax");
        // A direct client claiming https is not believed.
        HttpResponse<InputStream> spoofed = direct().header("X-Forwarded-Proto", "https").execute("hi");
        spoofed.body().close();
        String plain = spoofed.headers().firstValue("Set-Cookie").orElseThrow();
        remember(plain);
        assertThat(plain).doesNotContain("Secure");
    }
}
