package dev.usher.examples.readme;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.QueueFullException;
import dev.usher.gate.admission.Ticket;
import dev.usher.gate.admission.TicketUpdate;
import dev.usher.gate.cache.Lease;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.ratelimit.Decision;
import dev.usher.gate.ratelimit.Limit;
import dev.usher.gate.ratelimit.RateLimitHeaders;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.gate.workspace.Workspace;
import dev.usher.gate.workspace.WorkspaceAllocator;
import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import java.io.IOException;
import java.io.Writer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/** The README's workflow-gate snippets, compiled. {@link ReadmeSnippetsTest} checks the README shows this text. */
final class GateComponents {

    /** The admission queue section. */
    static final class QueueExample {
        AdmissionQueue queue = AdmissionQueue.builder(4)          // at most 4 workflow runs at once
                .maxQueued(200)
                .maxWait(Duration.ofMinutes(5))
                .maxRunningPerKey(1)                              // one run per session
                .build();

        void chat(String sessionId, Writer out, Runnable workflow) throws IOException, InterruptedException {
            BlockingQueue<TicketUpdate> updates = new LinkedBlockingQueue<>();
            Ticket ticket;
            try {
                // The listener only hands the update over: it runs on the queue's own thread.
                ticket = queue.enter(sessionId, updates::add);
            } catch (QueueFullException full) {
                long retryAfter = full.retryAfter().map(Duration::toSeconds).orElse(30L);
                send(out, "{\"event\":\"busy\",\"retryAfterSeconds\":" + retryAfter + "}"); // or HTTP 503 + Retry-After
                return;
            }
            try {
                while (true) {
                    TicketUpdate update = updates.take();
                    switch (update.kind()) {
                        case QUEUED, POSITION_CHANGED -> send(out, "{\"event\":\""
                                + (update.kind() == TicketUpdate.Kind.QUEUED ? "queued" : "position")
                                + "\",\"position\":" + update.position()
                                + update.estimatedWait().map(d -> ",\"etaSeconds\":" + d.toSeconds()).orElse("") + "}");
                        case ADMITTED -> {
                            try (Permit permit = ticket.permit().join()) {
                                send(out, "{\"event\":\"started\",\"waitedSeconds\":" + permit.waited().toSeconds() + "}");
                                workflow.run();
                            }
                            send(out, "{\"event\":\"done\"}");
                            return;
                        }
                        case CANCELLED, TIMED_OUT -> {
                            send(out, "{\"event\":\"" + (update.kind() == TicketUpdate.Kind.CANCELLED ? "cancelled" : "timeout")
                                    + "\"}");
                            return;
                        }
                    }
                }
            } catch (IOException | InterruptedException clientGone) {
                // The client left. Free its place; if admission won that race, hand the permit back (close is idempotent).
                if (!ticket.cancel() && ticket.state() == Ticket.State.ADMITTED) {
                    ticket.permit().join().close();
                }
                throw clientGone;
            }
        }

        void send(Writer out, String json) throws IOException {
            out.write(json + "\n");
            out.flush();
        }
    }

    /** The host's expensive per-session object. */
    interface AgentWorkflow extends AutoCloseable {
        static AgentWorkflow start(String sessionId) {
            return new AgentWorkflow() {
                @Override
                public void run(String request) {
                }

                @Override
                public void close() {
                }
            };
        }

        void run(String request);
    }

    static void cache(String sessionId, String request) {
        WorkflowCache<String, AgentWorkflow> workflows = WorkflowCache.builder(AgentWorkflow::start) // K -> V, may throw
                .maximumSize(32)
                .expireAfterAccess(Duration.ofMinutes(15))
                .build();
        try (Lease<AgentWorkflow> lease = workflows.acquire(sessionId)) {
            lease.value().run(request);
        }
        // when the session ends (a SessionListener):
        workflows.invalidate(sessionId);
    }

    /** A servlet-like response. */
    interface Response {
        void setHeader(String name, String value);
    }

    static void rateLimit(String userId, Response response) {
        RateLimiter limiter = RateLimiter.builder()
                .limit(Limit.of("sustained", 10, Duration.ofMinutes(1)))
                .limit(Limit.of("burst", 3, Duration.ofSeconds(1)))
                .build();
        Decision d = limiter.tryAcquire(userId);            // or tryAcquire(key, tokens)
        RateLimitHeaders.of(limiter, d).forEach(response::setHeader);
        if (!d.allowed()) { /* 429 */ }
    }

    static void workspaces(SessionManager sessions, Session session, byte[] bytes) {
        WorkspaceAllocator workspaces = WorkspaceAllocator.builder(Path.of("/srv/usher/workspaces"), sessions)
                .maxBytes(512L << 20)          // quota per workspace
                .maxFiles(5_000)
                .build();                      // close() it on shutdown

        Workspace ws = workspaces.workspaceFor(session, "주간 보고서 🚀");   // -> /srv/usher/workspaces/주간 보고서 🚀
        ws.write("notes/today.md", bytes);      // atomic and durable; parents created
        byte[] back = ws.read("notes/today.md");
        List<String> names = ws.list("notes");  // ["today.md"]; directories end with "/"
        ws.resolve("../../etc/passwd");         // throws UnsafePathException
    }

    private GateComponents() {
    }
}
