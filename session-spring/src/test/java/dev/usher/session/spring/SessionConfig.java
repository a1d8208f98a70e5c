package dev.usher.session.spring;

import dev.usher.session.SessionManager;
import dev.usher.session.SessionStore;
import dev.usher.session.redis.RedisSessionStore;
import java.time.Duration;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.session.config.annotation.web.http.EnableSpringHttpSession;

/** The README's Spring Session configuration, word for word between the markers; {@link ReadmeSnippetTest} runs it. */
// README:begin
@Configuration(proxyBeanMethods = false)
@EnableSpringHttpSession // Spring Session's SessionRepositoryFilter, over the repository below
public class SessionConfig {

    @Bean(destroyMethod = "close")
    SessionManager usherSessions(@Value("${myapp.redis-uri}") String redisUri) {
        SessionStore store = RedisSessionStore.builder().uri(redisUri).keyPrefix("myapp:session:").build();
        return SessionManager.builder(store)       // or JdbcSessionStore, InMemorySessionStore
                .idleTimeout(Duration.ofMinutes(30))
                .absoluteTimeout(Duration.ofHours(12))
                .build();
    }

    @Bean
    UsherSessionRepository sessionRepository(SessionManager usherSessions, ApplicationEventPublisher events) {
        return UsherSessionRepository.builder(usherSessions)
                .eventPublisher(events)            // Session{Created,Deleted,Expired}Event, once across instances
                .attributeCodec(AttributeCodec.javaSerialization( // only if you keep non-scalar objects,
                        "org.springframework.security.**;java.util.*;java.lang.*;!*")) // e.g. Spring Security's
                .build();
    }
}
// README:end
