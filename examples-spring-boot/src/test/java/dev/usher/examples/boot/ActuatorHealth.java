package dev.usher.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The app's real {@code /actuator/health} endpoint, read over HTTP by the outage tests. */
final class ActuatorHealth {
    /** Longest one answer may take: bounded by the stores' fail-fast circuits, not by this. */
    static final Duration ANSWER = Duration.ofSeconds(15);
    private static final Duration PATIENCE = Duration.ofSeconds(60);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final JsonMapper json = JsonMapper.builder().build();
    private final int port;

    ActuatorHealth(int port) {
        this.port = port;
    }

    /** One answer: the HTTP status and the JSON body. */
    record Health(int httpStatus, JsonNode body) {
        String status(String component) {
            return body.path("components").path(component).path("status").asString();
        }

        String error(String component) {
            return body.path("components").path(component).path("details").path("error").asString();
        }
    }

    Health get() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/health"))
                .timeout(ANSWER).build(), HttpResponse.BodyHandlers.ofString());
        return new Health(r.statusCode(), json.readTree(r.body()));
    }

    /** Polls until {@code component} reports {@code status}; fails after a minute. */
    Health awaitStatus(String component, String status) throws Exception {
        Instant deadline = Instant.now().plus(PATIENCE);
        Health h = get();
        while (!h.status(component).equals(status)) {
            assertThat(Instant.now()).as("%s still %s, not %s: %s", component, h.status(component), status, h.body())
                    .isBefore(deadline);
            Thread.sleep(100); // polling an HTTP endpoint: there is nothing to wait on instead
            h = get();
        }
        return h;
    }
}
