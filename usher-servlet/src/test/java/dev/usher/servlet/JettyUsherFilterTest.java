package dev.usher.servlet;

import jakarta.servlet.Filter;
import jakarta.servlet.http.HttpServlet;

/**
 * Every test of {@link UsherFilterTest} (cookies and rotation, 429/503, NDJSON and SSE positions, a client
 * that leaves mid-wait, handler exceptions, async handlers, release exactly once) on Jetty 12 instead of
 * Tomcat: the filter relies only on the Servlet 6 API, and this proves it on a second container.
 */
class JettyUsherFilterTest extends UsherFilterTest {
    @Override
    ContainerHarness startContainer(Filter filter, HttpServlet servlet) throws Exception {
        return new JettyHarness(filter, servlet);
    }
}
