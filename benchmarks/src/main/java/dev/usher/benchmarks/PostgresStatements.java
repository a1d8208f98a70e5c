package dev.usher.benchmarks;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Counts the statements PostgreSQL executes for an operation, from {@code pg_stat_statements} in the
 * benchmark's own database (so other users of a shared server do not count). {@code BEGIN} and
 * {@code COMMIT} count as statements, as the server sees them.
 *
 * <p>Not thread-safe; owns its connection.
 */
final class PostgresStatements implements AutoCloseable {
    private static final String SNAPSHOT = "SELECT queryid, query, calls FROM pg_stat_statements "
            + "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())";
    private final Connection connection;

    PostgresStatements() throws SQLException {
        connection = DriverManager.getConnection(Servers.postgresUrl(), Servers.postgresUser(), null);
        try (Statement s = connection.createStatement()) {
            s.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
            s.executeQuery(SNAPSHOT).close(); // fails here, not mid-run, when the library is not preloaded
        }
    }

    /** Runs {@code operation} {@code times} times and answers statements per operation by verb (SELECT, UPDATE, BEGIN...). */
    Map<String, Double> statementsPerOperation(int times, Runnable operation) throws SQLException {
        Map<Long, Long> before = new HashMap<>();
        snapshot(before, null);
        for (int i = 0; i < times; i++) {
            operation.run();
        }
        Map<Long, String> texts = new HashMap<>();
        Map<Long, Long> after = new HashMap<>();
        snapshot(after, texts);
        Map<String, Double> perOperation = new TreeMap<>();
        after.forEach((id, calls) -> {
            String text = texts.get(id);
            long delta = calls - before.getOrDefault(id, 0L);
            if (delta > 0 && !text.contains("pg_stat_statements")) {
                perOperation.merge(verb(text), (double) delta / times, Double::sum);
            }
        });
        return perOperation;
    }

    private void snapshot(Map<Long, Long> calls, Map<Long, String> texts) throws SQLException {
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(SNAPSHOT)) {
            while (rs.next()) {
                calls.merge(rs.getLong(1), rs.getLong(3), Long::sum);
                if (texts != null) {
                    texts.put(rs.getLong(1), rs.getString(2));
                }
            }
        }
    }

    private static String verb(String statement) {
        String flat = statement.replaceAll("\\s+", " ").trim();
        int space = flat.indexOf(' ');
        return (space < 0 ? flat : flat.substring(0, space)).toUpperCase(Locale.ROOT);
    }

    @Override
    public void close() throws SQLException {
        connection.close();
    }
}
