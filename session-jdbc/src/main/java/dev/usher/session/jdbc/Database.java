package dev.usher.session.jdbc;

import com.zaxxer.hikari.HikariDataSource;
import dev.usher.session.Durations;
import dev.usher.session.SessionStoreException;
import dev.usher.session.StoreCircuit;
import dev.usher.session.StoreUnavailableException;
import dev.usher.session.jdbc.JdbcSessionStore.Dialect;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;

/**
 * The store's way to its database: the writer and reader connections (one pool for both on PostgreSQL and
 * on a host's {@code DataSource}; one writer and a pool of readers on SQLite), the circuit that fails every
 * call at once while the database is down, and the sorting of failures into
 * {@link StoreUnavailableException} and {@link SessionStoreException}. Thread-safe; holds no monitor.
 */
final class Database implements AutoCloseable {

    @FunctionalInterface
    interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    final Dialect dialect;
    final String table;
    final DataSource writer;
    final DataSource reader;
    final StatementCache statements;
    private final Duration timeout;
    private final List<HikariDataSource> ownedPools;
    private final StoreCircuit circuit;
    private final AtomicBoolean closed = new AtomicBoolean();

    Database(Dialect dialect, String table, Duration timeout, DataSource writer, DataSource reader,
             List<HikariDataSource> ownedPools, StatementCache statements, Duration probeInterval,
             StoreCircuit.Probe probe) {
        this.dialect = dialect;
        this.table = table;
        this.timeout = timeout;
        this.writer = writer;
        this.reader = reader;
        this.ownedPools = ownedPools;
        this.statements = statements;
        this.circuit = StoreCircuit.create("session store " + table + " (" + dialect + ")", probeInterval, probe);
    }

    <T> T read(String operation, Work<T> work) {
        return run(operation, reader, work);
    }

    <T> T write(String operation, Work<T> work) {
        return run(operation, writer, work);
    }

    private <T> T run(String operation, DataSource source, Work<T> work) {
        if (closed.get()) {
            throw new IllegalStateException(this + " is closed");
        }
        circuit.throwIfOpen();
        try (Connection c = source.getConnection()) {
            return work.run(c);
        } catch (SQLException e) {
            if (EngineErrors.isConnectionLevel(dialect, e) && circuit.trip(e)) {
                // Connections opened before the outage are dead after a restart: drop them now (those in use as
                // they come back), so the first call after recovery gets a fresh one instead of failing again.
                ownedPools.forEach(pool -> pool.getHikariPoolMXBean().softEvictConnections());
            }
            throw failure(operation, e);
        }
    }

    private SessionStoreException failure(String operation, SQLException e) {
        String what = "session store " + table + " (" + dialect + ") could not " + operation;
        if (EngineErrors.isUnavailable(dialect, e)) {
            return new StoreUnavailableException(what + ": the database did not answer within " + Durations.format(timeout)
                    + " or is unreachable (" + e.getMessage() + ")", e, circuit.probeInterval());
        }
        return new SessionStoreException(what + ": " + e.getMessage(), e);
    }

    boolean isDuplicateKey(SQLException e) {
        return EngineErrors.isDuplicateKey(dialect, e);
    }

    /** Stops the probe and shuts down the pools the store built; a host's {@code DataSource} is left open. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            circuit.close();
            ownedPools.forEach(HikariDataSource::close);
            statements.clear();
        }
    }

    @Override
    public String toString() {
        return "JdbcSessionStore[" + dialect + ", table=" + table + "]";
    }
}
