package dev.usher.examples.readme;

import dev.usher.gate.cache.WorkflowLoader;
import dev.usher.servlet.UsherRequest;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

// README-BEGIN
@SpringBootApplication
public class AgentApplication {
    public static void main(String[] args) {
        SpringApplication.run(AgentApplication.class, args);
    }

    /** Your workflow, one per session: created on first use, closed once the session ends and no run uses it. */
    @Bean
    WorkflowLoader<String, Agent> agents() {
        return sessionId -> new Agent();
    }

    @RestController
    static class AgentController {
        /** Behind Usher's filter (usher.servlet.url-patterns): rate-limited, queued, with its session's agent. */
        @PostMapping("/api/workflow/ask")
        String ask(@RequestParam("prompt") String prompt, HttpServletRequest request) {
            UsherRequest<Agent> run = UsherRequest.of(request);
            return run.workflow().answer(prompt) + " in " + run.workspace().orElseThrow().name();
        }
    }
}
// README-END
