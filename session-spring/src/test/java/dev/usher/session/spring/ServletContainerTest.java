package dev.usher.session.spring;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME;

import dev.usher.session.Session;
import dev.usher.session.spring.Instances.Instance;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.startup.Tomcat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.session.events.SessionDeletedEvent;

/**
 * The bridge under a real container: embedded Tomcat with Spring Session's own {@link SessionRepositoryFilter}
 * over an {@link UsherSessionRepository}, and a plain servlet that only knows {@link HttpSession}. Two
 * containers on one store stand for two instances behind a load balancer that does not stick sessions.
 */
@Tag("server")
class ServletContainerTest {
    @TempDir
    Path dir;
    private Instances instances;
    private final List<Tomcat> containers = new ArrayList<>();
    private final HttpClient client = HttpClient.newHttpClient();

    @AfterEach
    void stop() throws LifecycleException {
        for (Tomcat t : containers) {
            t.stop();
            t.destroy();
        }
        if (instances != null) {
            instances.close();
        }
    }

    /** An application that counts visits, logs in (rotating the id, as Spring Security does) and logs out. */
    static final class App extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            String body;
            switch (req.getRequestURI()) {
                case "/count" -> {
                    HttpSession session = req.getSession();
                    Integer count = (Integer) session.getAttribute("count");
                    int next = count == null ? 1 : count + 1;
                    session.setAttribute("count", next);
                    body = Integer.toString(next);
                }
                case "/login" -> {
                    req.getSession();
                    req.changeSessionId();
                    req.getSession().setAttribute(PRINCIPAL_NAME_INDEX_NAME, req.getParameter("user"));
                    body = "welcome";
                }
                case "/logout" -> {
                    HttpSession session = req.getSession(false);
                    if (session != null) {
                        session.invalidate();
                    }
                    body = "bye";
                }
                default -> {
                    resp.sendError(404);
                    return;
                }
            }
            resp.setContentType("text/plain");
            resp.getWriter().write(body);
        }
    }

    private int startContainer(UsherSessionRepository repository) throws LifecycleException {
        Tomcat tomcat = SpringSessionTomcat.start(dir.resolve("tomcat-" + containers.size()), new App(), repository);
        containers.add(tomcat);
        return tomcat.getConnector().getLocalPort();
    }

    private record Reply(int status, String body, Optional<String> sessionCookie) {
    }

    private Reply call(int port, String path, String cookie) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        if (cookie != null) {
            request.header("Cookie", "SESSION=" + cookie);
        }
        HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        Optional<String> set = response.headers().allValues("Set-Cookie").stream()
                .filter(c -> c.startsWith("SESSION=")).findFirst();
        set.ifPresent(c -> assertThat(c).contains("HttpOnly").contains("SameSite=Lax"));
        return new Reply(response.statusCode(), response.body(),
                set.map(c -> c.substring("SESSION=".length(), c.indexOf(';'))));
    }

    /** Spring Session's cookie carries the id in base64. */
    private static String idIn(String cookie) {
        return new String(Base64.getDecoder().decode(cookie), StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void httpSessionsLiveInTheUsherStoreAcrossTwoContainers(Backend backend) throws Exception {
        instances = new Instances(backend, dir);
        Instance first = instances.start();
        Instance second = instances.start();
        int[] ports = {startContainer(first.repository()), startContainer(second.repository())};

        Reply start = call(ports[0], "/count", null);
        assertThat(start.body()).isEqualTo("1");
        String cookie = start.sessionCookie().orElseThrow();
        String id = idIn(cookie);
        assertThat(id).hasSize(43);
        for (int i = 2; i <= 6; i++) {
            Reply next = call(ports[i % 2], "/count", cookie);
            assertThat(next.body()).as("request %s, on container %s", i, i % 2).isEqualTo(Integer.toString(i));
            assertThat(next.sessionCookie()).as("the id stays until login").isEmpty();
        }
        Session stored = first.manager().find(id).orElseThrow();
        assertThat(stored.attribute("count")).contains("~int:6");

        Reply login = call(ports[1], "/login?user=alice", cookie);
        assertThat(login.body()).isEqualTo("welcome");
        String loggedIn = login.sessionCookie().orElseThrow();
        assertThat(idIn(loggedIn)).isNotEqualTo(id);
        assertThat(first.manager().find(id)).as("the pre-login id is dead").isEmpty();
        assertThat(first.manager().find(idIn(loggedIn)).orElseThrow().owner()).isEqualTo("alice");
        assertThat(first.repository().findByPrincipalName("alice")).containsOnlyKeys(idIn(loggedIn));
        assertThat(call(ports[0], "/count", loggedIn).body()).isEqualTo("7");
        assertThat(call(ports[0], "/count", cookie).body()).as("the old cookie starts afresh").isEqualTo("1");

        assertThat(call(ports[0], "/logout", loggedIn).body()).isEqualTo("bye");
        assertThat(first.manager().find(idIn(loggedIn))).isEmpty();
        long deleted = first.eventsOf(SessionDeletedEvent.class).stream()
                .filter(e -> e.getSessionId().equals(idIn(loggedIn))).count()
                + second.eventsOf(SessionDeletedEvent.class).stream()
                .filter(e -> e.getSessionId().equals(idIn(loggedIn))).count();
        assertThat(deleted).isEqualTo(1);
        assertThat(call(ports[1], "/count", loggedIn).body()).isEqualTo("1");
    }
}
