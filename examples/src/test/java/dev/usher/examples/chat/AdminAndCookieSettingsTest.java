package dev.usher.examples.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin token and handles, the cookie settings, and the validation of the new settings. */
class AdminAndCookieSettingsTest {
    private static final String TOKEN = "0123456789abcdef-token";
    private static final String ID = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde";

    @TempDir
    Path dataDir;

    @Test
    void onlyTheExactBearerTokenIsAuthorized() {
        AdminHandles admin = new AdminHandles(TOKEN, Clock.systemUTC());
        assertThat(admin.authorized("Bearer " + TOKEN)).isTrue();
        assertThat(admin.authorized("bearer " + TOKEN)).isTrue(); // the scheme is case-insensitive (RFC 9110)
        assertThat(admin.authorized(null)).isFalse();
        assertThat(admin.authorized("")).isFalse();
        assertThat(admin.authorized("Bearer")).isFalse();
        assertThat(admin.authorized("Bearer " + TOKEN.substring(1))).isFalse();
        assertThat(admin.authorized("Bearer " + TOKEN + "0")).isFalse();
        assertThat(admin.authorized("Bearer " + TOKEN.toUpperCase())).isFalse();
        assertThat(admin.authorized("Basic " + TOKEN)).isFalse();
        assertThat(admin.authorized(TOKEN)).isFalse();
    }

    @Test
    void handlesAreFreshSealedExpiringAndBoundToTheTokenAndTheirKind() {
        Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
        AdminHandles now = new AdminHandles(TOKEN, Clock.fixed(t0, ZoneOffset.UTC));
        String h1 = now.handle(ID);
        String h2 = now.handle(ID);
        assertThat(h1).isNotEqualTo(h2).doesNotContain(ID).doesNotContain(ID.substring(0, 12));
        assertThat(now.sessionId(h1)).contains(ID);
        // a cursor is not a handle and the other way round
        assertThat(now.storeCursor(h1)).isEmpty();
        assertThat(now.sessionId(now.cursor(ID))).isEmpty();
        assertThat(now.storeCursor(now.cursor("3:" + ID))).contains("3:" + ID);
        // another token cannot open it
        assertThat(new AdminHandles(TOKEN + "x", Clock.fixed(t0, ZoneOffset.UTC)).sessionId(h1)).isEmpty();
        // a flipped character or garbage is refused, never an exception
        char[] chars = h1.toCharArray();
        chars[20] = chars[20] == 'A' ? 'B' : 'A';
        assertThat(now.sessionId(new String(chars))).isEmpty();
        assertThat(now.sessionId("")).isEmpty();
        assertThat(now.sessionId("!!!")).isEmpty();
        assertThat(now.sessionId(ID)).isEmpty();
        assertThat(now.sessionId("A".repeat(5_000))).isEmpty();
        // valid for 15 minutes
        Clock later = Clock.fixed(t0.plus(AdminHandles.VALID_FOR).plus(Duration.ofSeconds(1)), ZoneOffset.UTC);
        assertThat(new AdminHandles(TOKEN, later).sessionId(h1)).isEmpty();
        Clock justInTime = Clock.fixed(t0.plus(AdminHandles.VALID_FOR), ZoneOffset.UTC);
        assertThat(new AdminHandles(TOKEN, justInTime).sessionId(h1)).contains(ID);
    }

    private Map<String, String> env(String... kv) {
        Map<String, String> env = new HashMap<>();
        env.put("USHER_PORT", "0");
        env.put("USHER_DATA_DIR", dataDir.toString());
        env.put("USHER_TOKEN_DELAY_MS", "1");
        for (int i = 0; i < kv.length; i += 2) {
            env.put(kv[i], kv[i + 1]);
        }
        return env;
    }

    @Test
    void badSettingsAreRejectedNamingTheSettingAndTheValue() {
        assertThatThrownBy(() -> Config.from(env("USHER_ADMIN_TOKEN", "short")))
                .hasMessageContaining("USHER_ADMIN_TOKEN must be at least 16 characters but was 5");
        assertThatThrownBy(() -> Config.from(env("USHER_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")))
                .hasMessageContaining("USHER_TRUSTED_PROXIES").hasMessageContaining("proxy.internal");
        assertThatThrownBy(() -> Config.from(env("USHER_SECURE_COOKIE", "sometimes")))
                .hasMessageContaining("USHER_SECURE_COOKIE must be one of [auto, always, never] but was 'sometimes'");
        assertThatThrownBy(() -> Config.from(env("USHER_COOKIE_HOST_PREFIX", "true", "USHER_SECURE_COOKIE", "never")))
                .hasMessageContaining("USHER_COOKIE_HOST_PREFIX=true needs a Secure cookie");
        assertThatThrownBy(() -> Config.from(env("USHER_NEW_SESSIONS_PER_HOUR", "0")))
                .hasMessageContaining("USHER_NEW_SESSIONS_PER_HOUR must be at least 1 but was 0");
        assertThatThrownBy(() -> Config.from(env("USHER_FORWARDED_HEADER", "x-real-ip")))
                .hasMessageContaining("USHER_FORWARDED_HEADER must be x-forwarded-for or forwarded but was 'x-real-ip'");
        assertThat(Config.from(env("USHER_ADMIN_TOKEN", TOKEN)).toString()).doesNotContain(TOKEN).contains("adminToken=set");
    }

    @Test
    void theHostPrefixedCookieIsSecureAndRecognised() throws Exception {
        try (ChatServer server = ChatServer.start(Config.from(env("USHER_COOKIE_HOST_PREFIX", "true")))) {
            HttpClient http = HttpClient.newHttpClient();
            URI execute = URI.create("http://127.0.0.1:" + server.port() + "/api/workflow/execute");
            HttpResponse<String> first = http.send(HttpRequest.newBuilder(execute)
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"hi\"}")).build(), HttpResponse.BodyHandlers.ofString());
            String setCookie = first.headers().firstValue("Set-Cookie").orElseThrow();
            assertThat(setCookie).startsWith("__Host-USHER_SESSION=").contains("; Path=/").contains("; Secure")
                    .contains("HttpOnly").contains("SameSite=Lax").doesNotContain("Domain");
            String cookie = setCookie.substring(0, setCookie.indexOf(';'));
            HttpResponse<String> again = http.send(HttpRequest.newBuilder(execute).header("Cookie", cookie)
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"again\"}")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(again.statusCode()).isEqualTo(200);
            assertThat(again.headers().firstValue("Set-Cookie")).as("the same session: no new cookie").isEmpty();
            assertThat(server.gate().sessions().stats().created()).isEqualTo(1);
        }
    }

    @Test
    void secureAlwaysAndNeverOverrideTheScheme() throws Exception {
        for (String mode : new String[] {"always", "never"}) {
            try (ChatServer server = ChatServer.start(Config.from(env("USHER_SECURE_COOKIE", mode)))) {
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + server.port() + "/api/login"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"user\":\"alice\"}")).build(), HttpResponse.BodyHandlers.ofString());
                String setCookie = r.headers().firstValue("Set-Cookie").orElseThrow();
                assertThat(setCookie.contains("; Secure")).as(mode).isEqualTo(mode.equals("always"));
            }
        }
    }
}
