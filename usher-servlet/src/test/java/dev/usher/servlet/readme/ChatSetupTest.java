package dev.usher.servlet.readme;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's Servlet setup, deployed as written in a real Tomcat. */
class ChatSetupTest {
    @TempDir
    Path dir;

    @Test
    void theReadmeSetupRunsTheWorkflowForANewSession() throws Exception {
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(dir.toString());
        tomcat.setPort(0);
        tomcat.getConnector().setProperty("address", "127.0.0.1");
        Context context = tomcat.addContext("", Files.createDirectories(dir.resolve("root")).toString());
        context.addParameter("sessionsFile", dir.resolve("sessions.db").toString());
        context.addApplicationListener(ChatSetup.class.getName()); // as web.xml or @WebListener declares it
        tomcat.start();
        try {
            String url = "http://127.0.0.1:" + tomcat.getConnector().getLocalPort() + "/chat/ask";
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(url))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString("prompt=hello")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("echo hello");
            assertThat(response.headers().firstValue("Set-Cookie")).hasValueSatisfying(c -> assertThat(c).startsWith("USHER_SESSION="));
            assertThat(response.headers().firstValue("RateLimit")).isEmpty(); // headers only on 429
            assertThat(Files.exists(dir.resolve("sessions.db"))).isTrue();
        } finally {
            tomcat.stop();
            tomcat.destroy();
        }
    }
}
