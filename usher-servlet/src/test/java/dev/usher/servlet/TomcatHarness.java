package dev.usher.servlet;

import jakarta.servlet.Filter;
import jakarta.servlet.http.HttpServlet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.catalina.Context;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;

/** A real embedded Tomcat on a free loopback port with one filter and one servlet under {@code /work/*}. */
final class TomcatHarness implements ContainerHarness {
    private final Tomcat tomcat;
    private final int port;

    TomcatHarness(Filter filter, HttpServlet servlet) throws IOException, LifecycleException {
        this(filter, servlet, false);
    }

    /** With {@code secure}, the connector reports requests as secure, as behind a TLS-terminating proxy. */
    TomcatHarness(Filter filter, HttpServlet servlet, boolean secure) throws IOException, LifecycleException {
        Path base = Files.createTempDirectory("usher-tomcat");
        tomcat = new Tomcat();
        tomcat.setBaseDir(base.toString());
        tomcat.setHostname("127.0.0.1");
        tomcat.setPort(0);
        tomcat.getConnector().setProperty("address", "127.0.0.1");
        tomcat.getConnector().setSecure(secure);
        Context context = tomcat.addContext("", base.toString());
        Tomcat.addServlet(context, "work", servlet).setAsyncSupported(true);
        context.addServletMapping("/work/*", "work");
        FilterDef def = new FilterDef();
        def.setFilterName("usher");
        def.setFilter(filter);
        def.setAsyncSupported("true");
        context.addFilterDef(def);
        FilterMap map = new FilterMap();
        map.setFilterName("usher");
        map.addURLPattern("/work/*");
        map.setDispatcher("REQUEST");
        map.setDispatcher("ASYNC");
        context.addFilterMap(map);
        tomcat.start();
        port = tomcat.getConnector().getLocalPort();
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public void close() throws LifecycleException {
        tomcat.stop();
        tomcat.destroy();
    }
}
