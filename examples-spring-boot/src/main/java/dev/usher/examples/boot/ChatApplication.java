package dev.usher.examples.boot;

import dev.usher.gate.cache.WorkflowLoader;
import dev.usher.spring.boot.autoconfigure.UsherFilterCustomizer;
import java.time.Duration;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;

/**
 * The example chat as a Spring Boot application: usher-spring-boot-starter configures sessions (a SQLite
 * file by default), the queue, rate limits, workspaces and the filter in front of {@code /api/workflow/*}
 * from {@code application.properties}; this class only says what a workflow is.
 */
@SpringBootApplication
public class ChatApplication {

    public static void main(String[] args) {
        SpringApplication.run(ChatApplication.class, args);
    }

    /** One simulated model per session, created by the workflow cache on the session's first run. */
    @Bean
    WorkflowLoader<String, SimulatedModel> models(@Value("${example.token-delay:80ms}") Duration tokenDelay) {
        return sessionId -> new SimulatedModel(tokenDelay);
    }

    /** A real host limits by user or API key; the example limits by session, or by address without one. */
    @Bean
    UsherFilterCustomizer rateLimitBySession() {
        return filter -> filter.rateKey(request -> {
            var cookies = request.getCookies();
            if (cookies != null) {
                for (var c : cookies) {
                    if (c.getName().equals("USHER_SESSION")) {
                        return "session:" + c.getValue();
                    }
                }
            }
            return "ip:" + request.getRemoteAddr();
        });
    }
}
