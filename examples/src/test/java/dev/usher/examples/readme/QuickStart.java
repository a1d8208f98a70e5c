package dev.usher.examples.readme;

import dev.usher.gate.GateOutcome;
import dev.usher.gate.GateRequest;
import dev.usher.gate.WorkflowGate;
import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.ratelimit.Limit;
import dev.usher.gate.ratelimit.RateLimitHeaders;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.gate.workspace.WorkspaceAllocator;
import dev.usher.session.SessionManager;
import dev.usher.session.jdbc.JdbcSessionStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** The README's "Quick start", compiled. {@link ReadmeSnippetsTest} checks the README shows this text. */
final class QuickStart {
    private QuickStart() {
    }

    static void quickStart(String cookieSessionId, String clientIp, String projectName, String prompt, Stream stream)
            throws Exception {
        Path data = Files.createDirectories(Path.of("data"));     // the SQLite file's directory must exist
        SessionManager sessions = SessionManager.builder(JdbcSessionStore.sqlite(data.resolve("usher.db"))).build();
        RateLimiter limiter = RateLimiter.builder().limit(Limit.of(20, Duration.ofMinutes(1))).build();
        WorkflowGate<Agent> gate = WorkflowGate.builder(sessions,
                        AdmissionQueue.builder(4).maxQueued(200).maxRunningPerKey(1).build(),       // 4 runs at once
                        WorkflowCache.<String, Agent>builder(Agent::start).maximumSize(64).build()) // one Agent per session
                .rateLimiter(limiter)
                .workspaces(WorkspaceAllocator.builder(data.resolve("workspaces"), sessions).releaseWhenSessionEnds(false).build())
                .build();

        // per request (a virtual thread is ideal: waiting in line costs almost nothing)
        GateOutcome<Agent> outcome = gate.enter(new GateRequest(cookieSessionId, clientIp, projectName),
                (session, position, eta) -> stream.send(queued(position, eta)));     // "You are #3 in line"
        if (outcome instanceof GateOutcome.RateLimited<Agent> r) respond(429, RateLimitHeaders.of(limiter, r.decision()));
        else if (outcome instanceof GateOutcome.Rejected<Agent> r) respond(503, r.retryAfter());
        else if (outcome instanceof GateOutcome.Admitted<Agent> run) {
            try (run) { run.workflow().answer(prompt, run.workspace().orElseThrow(), stream::send); } // lease + permit back, once
        }
    }

    // ---- the host's own pieces, which the README leaves out -------------------------------------------

    /** The host's expensive per-session object. */
    interface Agent extends AutoCloseable {
        static Agent start(String sessionId) {
            return new Agent() {
                @Override
                public void answer(String prompt, dev.usher.gate.workspace.Workspace workspace,
                                   java.util.function.Consumer<String> out) {
                    out.accept("echo: " + prompt);
                }

                @Override
                public void close() {
                }
            };
        }

        void answer(String prompt, dev.usher.gate.workspace.Workspace workspace, java.util.function.Consumer<String> out);
    }

    /** The host's streamed response. */
    interface Stream {
        void send(String event);
    }

    static String queued(int position, java.util.Optional<Duration> eta) {
        return "{\"position\":" + position + "}";
    }

    static void respond(int status, Object detail) {
    }
}
