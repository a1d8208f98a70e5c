package dev.usher.examples.readme;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

/** The README's Spring Boot application with the README's properties, on a real port. */
@Tag("server")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = AgentApplication.class)
@TestPropertySource(locations = "classpath:readme/application.properties")
class AgentApplicationTest {
    static final Path DATA;

    static {
        try {
            DATA = Files.createTempDirectory("usher-readme");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @DynamicPropertySource
    static void keepFilesInATemporaryDirectory(DynamicPropertyRegistry registry) {
        registry.add("usher.workspace.root", () -> DATA.resolve("workspaces").toString());
        registry.add("usher.session.jdbc.sqlite-file", () -> DATA.resolve("sessions.db").toString());
    }

    @LocalServerPort
    int port;

    @Test
    void theReadmeApplicationAnswersBehindTheGate() throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + "/api/workflow/ask?prompt=hi"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).startsWith("echo hi in ");
        assertThat(response.headers().firstValue("Set-Cookie")).hasValueSatisfying(c -> assertThat(c).startsWith("USHER_SESSION="));
        assertThat(Files.exists(DATA.resolve("sessions.db"))).isTrue();
    }
}
