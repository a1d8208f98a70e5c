package dev.usher.session.jdbc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * A PostgreSQL cluster of the test's own (initdb into a temporary folder, loopback, a free port), for tests
 * that stop the server; the shared server is never touched. Runs as {@code postgres} through
 * {@code runuser} when the JVM is root, since PostgreSQL refuses to run as root. Stopped by its recorded PID.
 * Shared with other modules' tests through this module's test-jar.
 */
public final class DedicatedPostgres implements AutoCloseable {
    private final Path dir;
    private final Path data;
    private final Path bin;
    private final int port;
    private final boolean asPostgresUser;
    private long pid = -1;
    private boolean frozen;

    private DedicatedPostgres(Path dir, Path bin, int port, boolean asPostgresUser) {
        this.dir = dir;
        this.data = dir.resolve("data");
        this.bin = bin;
        this.port = port;
        this.asPostgresUser = asPostgresUser;
    }

    /** Creates and starts a new cluster with a trusted user {@code usher}. */
    public static DedicatedPostgres start() throws IOException, InterruptedException {
        boolean root = "root".equals(System.getProperty("user.name"));
        Path dir = Files.createTempDirectory("usher-pg-");
        DedicatedPostgres pg = new DedicatedPostgres(dir, binaries(), freePort(), root);
        if (root) {
            run(List.of("chown", "postgres", dir.toString()));
        }
        pg.runAsOwner(List.of(pg.bin.resolve("initdb").toString(), "-D", pg.data.toString(), "-U", "usher",
                "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"));
        pg.startServer();
        return pg;
    }

    public int port() {
        return port;
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    /** Starts (again) on the same port and data; returns when it accepts connections. */
    public void startServer() throws IOException, InterruptedException {
        runAsOwner(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", dir.resolve("server.log").toString(),
                "-w", "-t", "60", "start", "-o", "-p " + port + " -c listen_addresses=127.0.0.1 -k " + dir
                        + " -c max_connections=50 -c fsync=off"));
        pid = Long.parseLong(Files.readAllLines(data.resolve("postmaster.pid"), StandardCharsets.UTF_8).get(0).trim());
    }

    /** Fast shutdown (SIGINT to the recorded PID: clients are disconnected at once); returns once it has exited. */
    public void stopServer() throws IOException, InterruptedException {
        if (pid < 0) {
            return;
        }
        ProcessHandle handle = ProcessHandle.of(pid).orElse(null);
        run(List.of("kill", "-INT", Long.toString(pid)));
        if (handle != null) {
            try {
                handle.onExit().get(60, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                handle.destroyForcibly();
            } catch (ExecutionException e) {
                throw new IOException("waiting for PostgreSQL " + pid + " to exit failed", e);
            }
        }
        pid = -1;
    }

    /**
     * A crash: SIGKILL to the postmaster and every backend (no shutdown, no goodbye to clients); returns once
     * they are gone. {@link #startServer()} then runs crash recovery.
     */
    public void crash() throws IOException, InterruptedException {
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow(() -> new IOException("PostgreSQL " + pid + " is not running"));
        List<ProcessHandle> all = new ArrayList<>(postmaster.descendants().toList());
        all.add(0, postmaster);
        signal("KILL", all);
        for (ProcessHandle p : all) {
            try {
                p.onExit().get(60, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                throw new IOException("PostgreSQL process " + p.pid() + " did not exit after SIGKILL", e);
            }
        }
        pid = -1;
    }

    /** SIGSTOP to the postmaster and every backend: sockets stay open, nothing answers, like a hung host. */
    public void freeze() throws IOException, InterruptedException {
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow(() -> new IOException("PostgreSQL " + pid + " is not running"));
        List<ProcessHandle> all = new ArrayList<>(postmaster.descendants().toList());
        all.add(0, postmaster);
        signal("STOP", all);
        frozen = true;
    }

    /** SIGCONT to the postmaster and every backend, after {@link #freeze()}. */
    public void thaw() throws IOException, InterruptedException {
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow(() -> new IOException("PostgreSQL " + pid + " is not running"));
        List<ProcessHandle> all = new ArrayList<>(postmaster.descendants().toList());
        all.add(0, postmaster);
        signal("CONT", all);
        frozen = false;
    }

    /** Signals each process that is still alive (a backend may exit between listing and signalling). */
    private static void signal(String name, List<ProcessHandle> processes) throws IOException, InterruptedException {
        for (ProcessHandle p : processes) {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(p.pid())).redirectErrorStream(true).start();
            kill.getInputStream().readAllBytes();
            if (kill.waitFor() != 0 && p.isAlive()) {
                throw new IOException("kill -" + name + " " + p.pid() + " failed");
            }
        }
    }

    @Override
    public void close() throws Exception {
        if (frozen) {
            thaw();
        }
        try {
            stopServer();
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private void runAsOwner(List<String> command) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>();
        if (asPostgresUser) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(command);
        run(full);
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + output);
        }
    }

    /** pg_ctl on the PATH, else the newest /usr/lib/postgresql/N/bin. */
    private static Path binaries() throws IOException {
        for (String entry : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path candidate = Path.of(entry, "pg_ctl");
            if (Files.isExecutable(candidate)) {
                return candidate.toRealPath().getParent();
            }
        }
        Path root = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(root)) {
            try (Stream<Path> versions = Files.list(root)) {
                return versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("pg_ctl")))
                        .max(Comparator.comparing(b -> Integer.parseInt(b.getParent().getFileName().toString().replaceAll("\\D", "0"))))
                        .orElseThrow(() -> new IOException("no PostgreSQL binaries under /usr/lib/postgresql"));
            }
        }
        throw new IOException("PostgreSQL binaries not found: no pg_ctl on the PATH nor under /usr/lib/postgresql");
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
