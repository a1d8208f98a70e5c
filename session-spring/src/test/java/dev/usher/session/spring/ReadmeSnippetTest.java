package dev.usher.session.spring;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.MapPropertySource;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.context.SecurityContextImpl;
import org.springframework.session.events.AbstractSessionEvent;
import org.springframework.session.events.SessionCreatedEvent;
import org.springframework.session.events.SessionDeletedEvent;
import org.springframework.session.web.http.SessionRepositoryFilter;

/** The README's "Spring Session" code is {@link SessionConfig}, and it runs in a real Spring context on Redis. */
@Tag("server")
class ReadmeSnippetTest {

    @Test
    void readmeShowsSessionConfigWordForWord() throws IOException {
        String source = Files.readString(Path.of("src/test/java/dev/usher/session/spring/SessionConfig.java"));
        String snippet = source.substring(source.indexOf("// README:begin\n") + 16, source.indexOf("// README:end"));
        String readme = Files.readString(Path.of("../README.md"));
        int section = readme.indexOf("\n## Spring Session (`session-spring`)\n");
        assertThat(section).as("README has the Spring Session section").isPositive();
        int start = readme.indexOf("```java\n", section) + 8;
        String block = readme.substring(start, readme.indexOf("```\n", start));
        assertThat(block).isEqualTo(snippet);
    }

    /** Collects what the application would receive with {@code @EventListener}. */
    static class Recorder {
        final List<AbstractSessionEvent> events = new CopyOnWriteArrayList<>();

        @EventListener
        void on(AbstractSessionEvent event) {
            events.add(event);
        }
    }

    @Test
    void sessionConfigWiresSpringSessionOverUsher() {
        try (AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext()) {
            context.getEnvironment().getPropertySources()
                    .addFirst(new MapPropertySource("test", Map.of("myapp.redis-uri", Backend.REDIS_URI)));
            context.register(SessionConfig.class, Recorder.class);
            context.refresh();

            assertThat(context.getBean(SessionRepositoryFilter.class)).isNotNull();
            UsherSessionRepository repository = context.getBean(UsherSessionRepository.class);
            UsherSpringSession s = repository.createSession();
            s.setAttribute("SPRING_SECURITY_CONTEXT", new SecurityContextImpl(
                    UsernamePasswordAuthenticationToken.authenticated("readme-" + s.getId().substring(0, 8), null, List.of())));
            repository.save(s);
            assertThat(s.owner()).hasValueSatisfying(owner -> assertThat(owner).startsWith("readme-"));
            repository.deleteById(s.getId());

            Recorder recorder = context.getBean(Recorder.class);
            assertThat(recorder.events).hasSize(2);
            assertThat(recorder.events.get(0)).isInstanceOf(SessionCreatedEvent.class);
            assertThat(recorder.events.get(1)).isInstanceOf(SessionDeletedEvent.class)
                    .extracting(AbstractSessionEvent::getSessionId).isEqualTo(s.getId());
        }
    }
}
