package dev.usher.examples.readme;

import dev.usher.gate.GateOutcome;
import dev.usher.gate.GateRequest;
import dev.usher.gate.QueueObserver;
import dev.usher.gate.WorkflowGate;
import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.http.ForwardedClient;
import dev.usher.gate.http.TrustedProxies;
import dev.usher.gate.ratelimit.Limit;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.session.SessionIds;
import dev.usher.session.SessionManager;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;

/** The README's "Deploying behind a proxy" snippets, compiled. {@link ReadmeSnippetsTest} checks the README. */
final class ProxySetup {
    private ProxySetup() {
    }

    static GateOutcome<QuickStart.Agent> behindAProxy(SessionManager sessions, AdmissionQueue queue,
            WorkflowCache<String, QuickStart.Agent> workflows, RateLimiter limiter, InetAddress peerAddress,
            boolean requestIsTls, Function<String, List<String>> headerValues, String cookieSessionId,
            String projectName, QueueObserver observer, Logger log) throws InterruptedException {
        TrustedProxies proxies = TrustedProxies.parse("10.0.0.0/8, fd00::/8");           // your proxies, nothing wider
        ForwardedClient client = proxies.resolve(peerAddress, requestIsTls, headerValues); // name -> all values of that header
        String address = client.address().getHostAddress();

        WorkflowGate<QuickStart.Agent> gate = WorkflowGate.builder(sessions, queue, workflows)
                .rateLimiter(limiter)
                .sessionCreationLimiter(RateLimiter.builder().name("new-sessions")         // new sessions per client address
                        .limit(Limit.of("new-sessions", 20, Duration.ofHours(1))).build())
                .build();
        GateOutcome<QuickStart.Agent> outcome = gate.enter(
                new GateRequest(cookieSessionId, "ip:" + address, projectName, address), observer);
        log.info("request of session {}", SessionIds.redact(cookieSessionId));          // never the whole id
        return outcome;
    }
}
