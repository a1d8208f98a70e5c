package dev.usher.servlet.readme;

import dev.usher.gate.WorkflowGate;
import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.ratelimit.Limit;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.servlet.UsherFilter;
import dev.usher.servlet.UsherRequest;
import dev.usher.session.SessionManager;
import dev.usher.session.jdbc.JdbcSessionStore;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.FilterRegistration;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;
import jakarta.servlet.ServletRegistration;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;

// README-BEGIN
/** Puts Usher in front of /chat/* in any Servlet 6 container: register it as a listener (or @WebListener). */
public class ChatSetup implements ServletContextListener {
    private WorkflowGate<Agent> gate;

    @Override
    public void contextInitialized(ServletContextEvent event) {
        ServletContext context = event.getServletContext();
        SessionManager sessions = SessionManager.builder(
                JdbcSessionStore.sqlite(Path.of(context.getInitParameter("sessionsFile")))).build();
        gate = WorkflowGate.builder(sessions,
                        AdmissionQueue.builder(4).maxQueued(200).maxWait(Duration.ofMinutes(2)).build(),
                        WorkflowCache.<String, Agent>builder(sessionId -> new Agent()).maximumSize(256).build())
                .rateLimiter(RateLimiter.builder().limit(Limit.of("minute", 30, Duration.ofMinutes(1))).build())
                .build();

        FilterRegistration.Dynamic usher = context.addFilter("usher", UsherFilter.builder(gate).build());
        usher.setAsyncSupported(true);
        usher.addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST, DispatcherType.ASYNC), false, "/chat/*");
        ServletRegistration.Dynamic chat = context.addServlet("chat", new ChatServlet());
        chat.setAsyncSupported(true);
        chat.addMapping("/chat/*");
    }

    @Override
    public void contextDestroyed(ServletContextEvent event) {
        gate.close(); // after the container destroyed the filter
    }

    /** Runs once admitted: the rate limit passed, the wait is over, the session's agent is leased. */
    static class ChatServlet extends HttpServlet {
        @Override
        protected void doPost(HttpServletRequest request, HttpServletResponse response) throws IOException {
            UsherRequest<Agent> run = UsherRequest.of(request);
            response.setContentType("text/plain;charset=UTF-8");
            response.getWriter().write(run.workflow().answer(request.getParameter("prompt")));
        }
    }
}
// README-END
