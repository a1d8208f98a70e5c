package dev.usher.session.jdbc;

import dev.usher.session.SessionProcess;
import dev.usher.session.SessionStore;
import java.time.Duration;
import java.util.List;

/** Opens a child process's store: {@code <jdbc url> <table> <expiry claim timeout millis> [<user> <password>]}. */
public final class JdbcStoreFactory implements SessionProcess.StoreFactory {
    @Override
    public SessionStore open(List<String> args) {
        JdbcSessionStore.Builder b = JdbcSessionStore.builder().jdbcUrl(args.get(0)).tableName(args.get(1))
                .expiryClaimTimeout(Duration.ofMillis(Long.parseLong(args.get(2))));
        if (args.size() > 3) {
            b.credentials(args.get(3), args.size() > 4 ? args.get(4) : "");
        }
        return b.build();
    }

    /** The arguments for a store on {@code engine}'s database and table. */
    static String[] argsFor(TestEngine engine, Duration claimTimeout) {
        String millis = Long.toString(claimTimeout.toMillis());
        return engine.dialect == JdbcSessionStore.Dialect.POSTGRESQL
                ? new String[] {engine.jdbcUrl(), engine.table, millis, TestEngine.POSTGRES_USER, TestEngine.POSTGRES_PASSWORD}
                : new String[] {engine.jdbcUrl(), engine.table, millis};
    }
}
