package dev.usher.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.servlet.UsherFilter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * {@code usher.servlet.trusted-proxies} on the embedded Tomcat: the test's client (127.0.0.1) plays the
 * TLS-terminating proxy, so every request the container sees is plain HTTP ({@code isSecure()} false). The
 * session cookie is {@code Secure} when the trusted proxy forwarded {@code X-Forwarded-Proto: https}, on the
 * filter's own cookie and on the example's login endpoint alike; an untrusted peer's header changes nothing.
 */
@Tag("server")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = ChatApplication.class)
class ForwardedHttpsCookieTest {
    static final Path DATA = TestProperties.dataDir("forwarded");
    private static final Duration PATIENCE = Duration.ofSeconds(60);

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        TestProperties.common(registry, DATA);
        registry.add("usher.session.jdbc.sqlite-file", () -> DATA.resolve("sessions.db").toString());
        registry.add("usher.servlet.trusted-proxies", () -> "127.0.0.1, ::1");
    }

    @LocalServerPort
    int port;
    @Autowired
    UsherFilter filter;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private HttpResponse<String> post(int port, String path, String json, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(PATIENCE)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("%s: %s", path, r.body()).isEqualTo(200);
        return r;
    }

    private static String setCookie(HttpResponse<?> r) {
        return r.headers().firstValue("Set-Cookie").orElseThrow();
    }

    @Test
    void aTrustedProxysForwardedHttpsMakesTheCookieSecure() throws Exception {
        assertThat(filter.cookie().trustedProxies().ranges()).containsExactly("127.0.0.1/32", "0:0:0:0:0:0:0:1/128");
        HttpResponse<String> run = post(port, "/api/workflow/execute", "{\"prompt\":\"hi\"}",
                "X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https");
        assertThat(setCookie(run)).startsWith("USHER_SESSION=").contains("Secure").contains("HttpOnly").contains("SameSite=Lax");

        HttpResponse<String> login = post(port, "/api/login", "{\"user\":\"ada\"}",
                "X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https");
        assertThat(setCookie(login)).as("the host's endpoint writes the filter's cookie").contains("Secure");

        HttpResponse<String> plain = post(port, "/api/workflow/execute", "{\"prompt\":\"hi\"}",
                "X-Forwarded-For", "203.0.113.8", "X-Forwarded-Proto", "http");
        assertThat(setCookie(plain)).as("the proxy says plain HTTP").doesNotContain("Secure");
    }

    @Test
    void anUntrustedPeersForwardedHttpsIsIgnored() throws Exception {
        List<String> args = new ArrayList<>(List.of("--server.port=0", "--usher.servlet.trusted-proxies=10.0.0.0/8"));
        Path data = TestProperties.dataDir("forwarded-untrusted");
        TestProperties.common(data).forEach((name, value) -> args.add("--" + name + "=" + value));
        args.add("--usher.session.jdbc.sqlite-file=" + data.resolve("sessions.db"));
        try (ConfigurableApplicationContext untrusted = new SpringApplicationBuilder(ChatApplication.class)
                .run(args.toArray(String[]::new))) {
            int otherPort = Integer.parseInt(untrusted.getEnvironment().getProperty("local.server.port"));
            HttpResponse<String> run = post(otherPort, "/api/workflow/execute", "{\"prompt\":\"hi\"}",
                    "X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https");
            assertThat(setCookie(run)).as("127.0.0.1 is not in 10.0.0.0/8: its header is the client's own")
                    .doesNotContain("Secure");
            HttpResponse<String> login = post(otherPort, "/api/login", "{\"user\":\"eve\"}",
                    "X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https");
            assertThat(setCookie(login)).doesNotContain("Secure");
        }
    }
}
