package dev.usher.gate.ratelimit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A PostgreSQL cluster of this test's own (initdb + pg_ctl in a temporary directory, on a free loopback
 * port), so that stopping it disturbs no one. Runs as the {@code postgres} user when the JVM runs as root
 * (initdb refuses root). Stopped through pg_ctl on its own data directory, i.e. by its own postmaster PID.
 */
final class DedicatedPostgres implements AutoCloseable {
    final int port;
    private final Path dir;
    private final Path bin;
    private boolean frozen;

    private DedicatedPostgres(int port, Path dir, Path bin) {
        this.port = port;
        this.dir = dir;
        this.bin = bin;
    }

    static DedicatedPostgres start() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("usher-ratelimit-pg-");
        // The postgres user must be able to create the data directory here.
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        DedicatedPostgres pg = new DedicatedPostgres(DedicatedRedis.freePort(), dir, findBin());
        pg.run("initdb", "-D", pg.data(), "-U", "usher", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync");
        pg.startServer();
        return pg;
    }

    String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    void startServer() throws IOException, InterruptedException {
        run("pg_ctl", "-D", data(), "-l", dir.resolve("server.log").toString(), "-w", "-t", "60", "start",
                "-o", "-p " + port + " -c listen_addresses=127.0.0.1 -k " + dir + " -c fsync=off");
    }

    /** Immediate shutdown: the server goes away as on a crash, with clients connected. */
    void stopServer() throws IOException, InterruptedException {
        run("pg_ctl", "-D", data(), "-m", "immediate", "-w", "stop");
    }

    /** SIGSTOP to the postmaster and every backend: sockets stay open, nothing answers, like a hung host. */
    void freeze() throws IOException, InterruptedException {
        signalAll("STOP");
        frozen = true;
    }

    /** SIGCONT after {@link #freeze()}. */
    void thaw() throws IOException, InterruptedException {
        signalAll("CONT");
        frozen = false;
    }

    private void signalAll(String signal) throws IOException, InterruptedException {
        long pid = Long.parseLong(Files.readAllLines(dir.resolve("data").resolve("postmaster.pid"),
                StandardCharsets.UTF_8).get(0).trim());
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow(() -> new IOException("PostgreSQL " + pid + " is not running"));
        List<ProcessHandle> all = new ArrayList<>(postmaster.descendants().toList());
        all.add(0, postmaster);
        for (ProcessHandle p : all) {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).redirectErrorStream(true).start();
            kill.getInputStream().readAllBytes();
            if (kill.waitFor() != 0 && p.isAlive()) {
                throw new IOException("kill -" + signal + " " + p.pid() + " failed");
            }
        }
    }

    @Override
    public void close() throws IOException {
        try {
            if (frozen) {
                thaw();
            }
            if (Files.exists(dir.resolve("data").resolve("postmaster.pid"))) {
                stopServer();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while stopping the PostgreSQL cluster in " + dir, e);
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private String data() {
        return dir.resolve("data").toString();
    }

    private void run(String tool, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            command.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        command.add(bin.resolve(tool).toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed:\n" + output);
        }
    }

    /** pg_ctl's directory: from the PATH (resolving symlinks), else the Debian layout. */
    private static Path findBin() throws IOException {
        for (String entry : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path candidate = Path.of(entry, "pg_ctl");
            if (!entry.isEmpty() && Files.isExecutable(candidate)) {
                return candidate.toRealPath().getParent();
            }
        }
        try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("pg_ctl")))
                    .max(Comparator.naturalOrder())
                    .orElseThrow(() -> new IllegalStateException("no pg_ctl on the PATH or in /usr/lib/postgresql"));
        }
    }
}
