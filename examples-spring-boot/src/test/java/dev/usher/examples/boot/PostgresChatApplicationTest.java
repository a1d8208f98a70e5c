package dev.usher.examples.boot;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.SessionStore;
import dev.usher.session.jdbc.JdbcSessionStore;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The example with sessions on the shared PostgreSQL server, in a table of its own. */
@Tag("server")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = ChatApplication.class)
class PostgresChatApplicationTest extends ChatApplicationContract {
    static final Path DATA = TestProperties.dataDir("postgres");
    static final String TABLE = TestProperties.unique("usher_boot");

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        TestProperties.common(registry, DATA);
        registry.add("usher.session.jdbc.url", () -> TestProperties.POSTGRES_URL);
        registry.add("usher.session.jdbc.username", () -> TestProperties.POSTGRES_USER);
        registry.add("usher.session.jdbc.table-name", () -> TABLE);
    }

    @AfterAll
    static void dropTable() throws Exception {
        try (Connection c = DriverManager.getConnection(TestProperties.POSTGRES_URL, TestProperties.POSTGRES_USER, null)) {
            c.createStatement().execute("DROP TABLE IF EXISTS " + TABLE);
            c.createStatement().execute("DROP TABLE IF EXISTS " + TABLE + "_schema_version");
        }
    }

    @Autowired
    SessionStore store;

    @Test
    void sessionsLiveInPostgres() {
        assertThat(store).isInstanceOfSatisfying(JdbcSessionStore.class,
                s -> assertThat(s.dialect()).isEqualTo(JdbcSessionStore.Dialect.POSTGRESQL));
    }
}
