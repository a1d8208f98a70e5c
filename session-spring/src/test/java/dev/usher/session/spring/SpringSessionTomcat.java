package dev.usher.session.spring;

import jakarta.servlet.http.HttpServlet;
import java.nio.file.Path;
import org.apache.catalina.Context;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;
import org.springframework.session.web.http.SessionRepositoryFilter;

/** An embedded Tomcat on a free port running {@code servlet} behind Spring Session's own filter over a repository. */
final class SpringSessionTomcat {
    private SpringSessionTomcat() {
    }

    /** Started; the caller stops and destroys it. Its port is {@code getConnector().getLocalPort()}. */
    static Tomcat start(Path baseDir, HttpServlet servlet, UsherSessionRepository repository) throws LifecycleException {
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(baseDir.toString());
        tomcat.setPort(0);
        Context context = tomcat.addContext("", null);
        Tomcat.addServlet(context, "app", servlet);
        context.addServletMapping("/*", "app");
        FilterDef filter = new FilterDef();
        filter.setFilterName("springSessionRepositoryFilter");
        filter.setFilter(new SessionRepositoryFilter<>(repository));
        context.addFilterDef(filter);
        FilterMap mapping = new FilterMap();
        mapping.setFilterName("springSessionRepositoryFilter");
        mapping.addURLPattern("/*");
        context.addFilterMap(mapping);
        tomcat.getConnector();
        tomcat.start();
        return tomcat;
    }
}
