package dev.usher.examples.boot;

import dev.usher.gate.WorkflowGate;
import dev.usher.gate.admission.AdmissionStats;
import dev.usher.servlet.UsherFilter;
import dev.usher.servlet.UsherRequest;
import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;
import tools.jackson.databind.json.JsonMapper;

/**
 * The example's endpoints. {@code /api/workflow/execute} is behind the Usher filter (see
 * {@code usher.servlet.url-patterns}): by the time it runs, the request passed the rate limit and the queue,
 * and holds its session, workspace and model. The login and queue endpoints are not behind it.
 */
@RestController
class ChatController {
    private static final int MAX_PROMPT = 4_000;

    private final WorkflowGate<?> gate;
    private final UsherFilter filter;
    private final JsonMapper json;

    private final int maxRunning;

    ChatController(WorkflowGate<?> gate, UsherFilter filter, JsonMapper json,
                   @Value("${usher.queue.max-running:4}") int maxRunning) {
        this.gate = gate;
        this.filter = filter;
        this.json = json;
        this.maxRunning = maxRunning;
    }

    @PostMapping("/api/workflow/execute")
    void execute(@RequestBody Map<String, Object> body, HttpServletRequest request, HttpServletResponse response)
            throws IOException, InterruptedException {
        UsherRequest<SimulatedModel> run = UsherRequest.of(request);
        Object prompt = body.get("prompt");
        if (!(prompt instanceof String text) || text.isBlank() || text.length() > MAX_PROMPT) {
            if (!response.isCommitted()) {
                response.sendError(400, "'prompt' must be 1 to " + MAX_PROMPT + " characters");
            }
            return;
        }
        if (run.streamFormat().isEmpty()) { // a plain request: the stream starts here
            response.setContentType("application/x-ndjson");
            response.setCharacterEncoding("UTF-8");
        }
        OutputStream out = response.getOutputStream();
        send(out, event("started", "workspace", run.workspace().map(ws -> ws.name()).orElse("")));
        try {
            run.workflow().answer(text, token -> send(out, event("token", "text", token)));
            send(out, event("done"));
        } catch (UncheckedIOException e) {
            // the client left mid-answer; the filter releases the run when the response completes
        }
    }

    /**
     * The same run as plain text, written by Spring MVC on its own thread after the request thread returned
     * (an async request): the filter keeps the run until that response completes.
     */
    @PostMapping(value = "/api/workflow/answer", produces = "text/plain;charset=UTF-8")
    StreamingResponseBody answer(@RequestParam("prompt") String prompt, HttpServletRequest request) {
        UsherRequest<SimulatedModel> run = UsherRequest.of(request);
        if (prompt.isBlank() || prompt.length() > MAX_PROMPT) {
            throw new IllegalArgumentException("'prompt' must be 1 to " + MAX_PROMPT + " characters");
        }
        return out -> {
            try {
                run.workflow().answer(prompt, token -> {
                    try {
                        out.write(token.getBytes(StandardCharsets.UTF_8));
                        out.flush();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    /** An event with "type" first, as the page and the filter's own events have it. */
    private static Map<String, Object> event(String type, Object... keysAndValues) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("type", type);
        for (int i = 0; i < keysAndValues.length; i += 2) {
            event.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return event;
    }

    private void send(OutputStream out, Map<String, ?> event) {
        try {
            out.write((json.writeValueAsString(event) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** "Login" without a password, as a stand-in for the host's own: what matters is the id rotation. */
    @PostMapping("/api/login")
    ResponseEntity<Map<String, Object>> login(@RequestBody Map<String, Object> body, HttpServletRequest request,
                                              HttpServletResponse response) {
        Object user = body.get("user");
        if (!(user instanceof String name) || name.isBlank() || name.length() > 64) {
            return ResponseEntity.badRequest().body(Map.of("message", "'user' must be 1 to 64 characters"));
        }
        SessionManager sessions = gate.sessions();
        Session session = filter.cookie().read(request).flatMap(sessions::touch)
                .orElseGet(() -> sessions.create(null, Map.of()));
        Session rotated = sessions.login(session.id(), name.strip())
                .orElseThrow(() -> new IllegalStateException("the session ended during login; try again"));
        filter.cookie().write(request, response, rotated.id());
        return ResponseEntity.ok(Map.of("user", rotated.owner()));
    }

    @GetMapping("/api/queue")
    Map<String, Object> queue() {
        AdmissionStats s = gate.queue().stats();
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("running", s.running());
        result.put("queued", s.queued());
        result.put("maxRunning", maxRunning);
        return result;
    }
}
