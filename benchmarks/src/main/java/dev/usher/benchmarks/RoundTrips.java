package dev.usher.benchmarks;

import java.util.ArrayList;
import java.util.List;

/**
 * Counts, on the servers, what one operation of each session store costs: Redis commands sent by the
 * client (Lua-internal calls excluded) and PostgreSQL statements, for Usher and for Spring Session, by
 * running the operations of the benchmark classes against the same prepared state.
 */
final class RoundTrips {
    private RoundTrips() {
    }

    static List<Report.RoundTrip> count(int times) throws Exception {
        List<Report.RoundTrip> counted = new ArrayList<>();
        Suite.progress("counting Redis commands per operation");
        RedisSessionBenchmark redis = new RedisSessionBenchmark();
        redis.setUp();
        Cursor cursor = new Cursor();
        try (RedisMonitor monitor = new RedisMonitor(Servers.redisHost(), Servers.redisPort())) {
            String ns = redis.namespace();
            counted.add(new Report.RoundTrip("Redis", "Usher RedisSessionStore touch (SessionManager.touch)",
                    monitor.commandsPerOperation(ns, times, () -> redis.usherTouch(cursor))));
            // Before the plain update, which would leave the held sessions behind the stored versions.
            counted.add(new Report.RoundTrip("Redis", "Usher RedisSessionStore update of a held session (SessionManager.update(Session, change))",
                    monitor.commandsPerOperation(ns, times, () -> redis.usherUpdateHeld(cursor))));
            counted.add(new Report.RoundTrip("Redis", "Usher RedisSessionStore update (SessionManager.update)",
                    monitor.commandsPerOperation(ns, times, () -> redis.usherUpdate(cursor))));
            counted.add(new Report.RoundTrip("Redis", "Spring RedisSessionRepository touch (findById + save)",
                    monitor.commandsPerOperation(ns, times, () -> redis.springTouch(cursor))));
            counted.add(new Report.RoundTrip("Redis", "Spring RedisSessionRepository update (findById + setAttribute + save)",
                    monitor.commandsPerOperation(ns, times, () -> redis.springUpdate(cursor))));
            counted.add(new Report.RoundTrip("Redis", "raw Jedis EVALSHA",
                    monitor.commandsPerOperation(ns, times, () -> redis.rawEvalsha(cursor))));
        } finally {
            redis.tearDown();
        }

        Suite.progress("counting PostgreSQL statements per operation");
        JdbcSessionBenchmark jdbc = new JdbcSessionBenchmark();
        jdbc.engine = "postgresql";
        jdbc.serverPrepared = false;
        jdbc.setUp();
        try (PostgresStatements statements = new PostgresStatements()) {
            counted.add(new Report.RoundTrip("PostgreSQL", "Usher JdbcSessionStore touch (SessionManager.touch)",
                    statements.statementsPerOperation(times, () -> jdbc.usherTouch(cursor))));
            // Before the plain update, which would leave the held sessions behind the stored versions.
            counted.add(new Report.RoundTrip("PostgreSQL", "Usher JdbcSessionStore update of a held session (SessionManager.update(Session, change))",
                    statements.statementsPerOperation(times, () -> jdbc.usherUpdateHeld(cursor))));
            counted.add(new Report.RoundTrip("PostgreSQL", "Usher JdbcSessionStore update (SessionManager.update)",
                    statements.statementsPerOperation(times, () -> jdbc.usherUpdate(cursor))));
            counted.add(new Report.RoundTrip("PostgreSQL", "Spring JdbcIndexedSessionRepository touch (findById + save)",
                    statements.statementsPerOperation(times, () -> jdbc.springTouch(cursor))));
            counted.add(new Report.RoundTrip("PostgreSQL", "Spring JdbcIndexedSessionRepository update (findById + setAttribute + save)",
                    statements.statementsPerOperation(times, () -> jdbc.springUpdate(cursor))));
            counted.add(new Report.RoundTrip("PostgreSQL", "raw SELECT by key",
                    statements.statementsPerOperation(times, () -> unchecked(() -> jdbc.rawSelect(cursor)))));
            counted.add(new Report.RoundTrip("PostgreSQL", "raw upsert",
                    statements.statementsPerOperation(times, () -> unchecked(() -> jdbc.rawUpsert(cursor)))));
        } finally {
            jdbc.tearDown();
        }
        return counted;
    }

    interface SqlAction {
        Object run() throws java.sql.SQLException;
    }

    private static void unchecked(SqlAction action) {
        try {
            action.run();
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
