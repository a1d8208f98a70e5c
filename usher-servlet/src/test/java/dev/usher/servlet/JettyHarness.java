package dev.usher.servlet;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.http.HttpServlet;
import java.util.EnumSet;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/** A real embedded Jetty 12 (ee10, Jakarta Servlet 6) on a free loopback port, set up as {@link TomcatHarness}. */
final class JettyHarness implements ContainerHarness {
    private final Server server;
    private final int port;

    JettyHarness(Filter filter, HttpServlet servlet) throws Exception {
        server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler();
        context.setContextPath("/");
        ServletHolder work = new ServletHolder("work", servlet);
        work.setAsyncSupported(true);
        context.addServlet(work, "/work/*");
        FilterHolder usher = new FilterHolder(filter);
        usher.setName("usher");
        usher.setAsyncSupported(true);
        context.addFilter(usher, "/work/*", EnumSet.of(DispatcherType.REQUEST, DispatcherType.ASYNC));
        server.setHandler(context);
        server.start();
        port = connector.getLocalPort();
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public void close() throws Exception {
        server.stop();
        server.destroy();
    }
}
