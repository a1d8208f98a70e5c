package dev.usher.examples.boot;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.SessionStore;
import dev.usher.session.jdbc.JdbcSessionStore;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The example on its default store: a SQLite file. */
@Tag("server")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = ChatApplication.class)
class SqliteChatApplicationTest extends ChatApplicationContract {
    static final Path DATA = TestProperties.dataDir("sqlite");

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        TestProperties.common(registry, DATA);
        registry.add("usher.session.jdbc.sqlite-file", () -> DATA.resolve("sessions.db").toString());
    }

    @Autowired
    SessionStore store;

    @Test
    void sessionsLiveInTheSqliteFile() {
        assertThat(store).isInstanceOfSatisfying(JdbcSessionStore.class,
                s -> assertThat(s.dialect()).isEqualTo(JdbcSessionStore.Dialect.SQLITE));
        assertThat(Files.exists(DATA.resolve("sessions.db"))).isTrue();
    }
}
