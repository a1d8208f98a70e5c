package dev.usher.benchmarks;

import dev.usher.gate.ratelimit.Limit;
import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.springframework.session.FindByIndexNameSessionRepository;
import org.springframework.session.MapSession;
import org.springframework.session.MapSessionRepository;

/**
 * The whole suite in one run, then one report: heap per idle entry, commands and statements per operation
 * counted by the servers, and every JMH benchmark with the ratio of each Usher operation to its peers.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar [smoke|quick|full] [regex of the parts to run]
 * </pre>
 * The report goes to standard output and to {@code bench-results/report.md} (with JMH's JSON results and
 * log beside it) under the working directory, or {@code -Dusher.bench.out=DIR}.
 */
public final class Suite {
    static final int FOOTPRINT_ENTRIES = 100_000;
    private static final int COUNTED_OPERATIONS = 200;
    private static final long MAX_BYTES_PER_IDLE_SESSION = 400;

    /**
     * An idle rate-limit key: half of a 100-per-hour quota used, so its bucket stays in memory for the 30
     * minutes it needs to refill (a limiter may drop a full bucket, which costs nothing to recreate).
     */
    private static final int HOURLY_QUOTA = 100;
    private static final int TOKENS_USED = 50;

    /**
     * Iteration settings. Smoke only checks that everything runs (no error bars); quick takes about 16 minutes
     * on 2 cores; full is for numbers to quote, about 33 minutes on 2 cores: 2 forks of 4 × 1 s warm-up and
     * 9 × 0.6 s measured, 18 samples a row. The warm-up matters most: the longer Usher paths (admission,
     * rate limiter, cache lease) reach their steady speed only 2.5 to 4 s into a fork (the cache lease still
     * dipped to a third of its speed in single samples 3 to 4.5 s in), so with 1 s of warm-up their first
     * samples were a third to a half slower, which alone spread their 99.9% bars to 20–30%. On this VM the
     * samples of a steady fork still swing by 5–10% (the allocating paths slow down as the young generation
     * fills, then recover after each collection), so 18 samples rather than 12 narrow the bars by about a
     * third. The suite has 82 benchmark × parameter × thread runs and each fork pays its JVM start and set-up
     * (2 to 12 s, {@link Group#overheadSeconds}), 164 forks in all.
     */
    enum RunMode {
        SMOKE(1, 1, TimeValue.seconds(1), 1, TimeValue.seconds(1)),
        QUICK(1, 3, TimeValue.seconds(1), 3, TimeValue.seconds(1)),
        FULL(2, 4, TimeValue.seconds(1), 9, TimeValue.milliseconds(600));

        final int forks;
        final int warmups;
        final TimeValue warmupTime;
        final int iterations;
        final TimeValue iterationTime;

        RunMode(int forks, int warmups, TimeValue warmupTime, int iterations, TimeValue iterationTime) {
            this.forks = forks;
            this.warmups = warmups;
            this.warmupTime = warmupTime;
            this.iterations = iterations;
            this.iterationTime = iterationTime;
        }
    }

    /**
     * A benchmark class, the JVM start and set-up each of its forks pays before the first iteration
     * (seconds, as measured in smoke runs on the 2-core machine; for the estimate only), how many times the
     * mode's warm-up it needs, and the thread counts it runs at. The HTTP benchmark warms up three times as
     * long: a server, a client and their connection pool are still getting faster 4 s into a fork.
     */
    record Group(Class<?> type, double overheadSeconds, int warmupFactor, int... threads) {
        String name() {
            return type.getSimpleName().replace("Benchmark", "");
        }
    }

    static final List<Group> GROUPS = List.of(
            new Group(InMemorySessionBenchmark.class, 4, 1, 1, 2),
            new Group(RedisSessionBenchmark.class, 12, 1, 1),
            new Group(JdbcSessionBenchmark.class, 7, 1, 1),
            new Group(AdmissionBenchmark.class, 2, 1, 1, 2),
            new Group(AdmissionScaleBenchmark.class, 2.5, 1, 1),
            new Group(ClusterAdmissionBenchmark.class, 2.5, 1, 1, 2),
            new Group(RateLimiterBenchmark.class, 2, 1, 1, 2),
            new Group(WorkflowCacheBenchmark.class, 2, 1, 1, 2),
            new Group(GateBenchmark.class, 5.5, 1, 1, 2),
            new Group(GatePathBenchmark.class, 12, 3, 1, 2));

    private Suite() {
    }

    public static void main(String[] args) throws Exception {
        RunMode mode = RunMode.valueOf((args.length > 0 ? args[0] : "quick").toUpperCase(Locale.ROOT));
        Pattern only = Pattern.compile(args.length > 1 ? args[1] : ".*");
        Path out = Path.of(System.getProperty("usher.bench.out", "bench-results"));
        Files.createDirectories(out);
        String started = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'"));
        String loadBefore = loadAverage();

        List<Report.Footprint> footprints = only.matcher("HeapFootprint").find() ? footprints() : List.of();
        List<Report.RoundTrip> roundTrips = new ArrayList<>();
        if (only.matcher("RoundTrips").find()) {
            roundTrips.addAll(RoundTrips.count(COUNTED_OPERATIONS));
            roundTrips.addAll(ClusterQueueMeasurements.roundTrips(COUNTED_OPERATIONS));
        }
        String clusterQueue = "";
        if (only.matcher("ClusterQueue").find()) {
            progress("measuring admission latency and 3-instance throughput of the cluster-wide queue");
            clusterQueue = ClusterQueueMeasurements.latencyTable(500) + "\n"
                    + ClusterQueueMeasurements.throughputTable(Duration.ofSeconds(5), 8) + "\n";
        }
        progress(estimate(mode, only));
        List<Report.Measurement> measurements = new ArrayList<>();
        for (Group group : GROUPS) {
            if (!only.matcher(group.name()).find()) {
                continue;
            }
            for (int threads : group.threads()) {
                progress("running " + group.name() + " at " + threads + " thread(s)");
                measurements.addAll(run(group, threads, mode, out));
            }
        }

        StringBuilder report = new StringBuilder();
        report.append("Machine: ").append(machine()).append("; JDK ").append(System.getProperty("java.vm.version"))
                .append("; ").append(started).append("; mode ").append(mode.name().toLowerCase(Locale.ROOT))
                .append(" (").append(mode.forks).append(mode.forks == 1 ? " fork, " : " forks, ").append(mode.warmups).append("×").append(mode.warmupTime)
                .append(" warm-up, ").append(mode.iterations).append("×").append(mode.iterationTime).append(" measured)")
                .append("; load average before ").append(loadBefore).append(", after ").append(loadAverage()).append("\n\n");
        if (!measurements.isEmpty()) {
            report.append(Report.throughputTable(measurements)).append('\n');
            String gate = Report.gateTable(measurements);
            if (!gate.isEmpty()) {
                report.append(gate).append('\n');
            }
        }
        if (!roundTrips.isEmpty()) {
            report.append("Commands (Redis, from MONITOR) and statements (PostgreSQL, from pg_stat_statements) per operation, ")
                    .append(COUNTED_OPERATIONS).append(" operations counted:\n\n")
                    .append(Report.roundTripTable(roundTrips)).append('\n');
        }
        report.append(clusterQueue);
        if (!footprints.isEmpty()) {
            report.append(Report.footprintTable(FOOTPRINT_ENTRIES, footprints)).append('\n');
        }
        Files.writeString(out.resolve("report.md"), report, StandardCharsets.UTF_8);
        System.out.print(report);
    }

    private static List<Report.Measurement> run(Group group, int threads, RunMode mode, Path out) throws Exception {
        String name = group.name() + "-t" + threads;
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include(Pattern.quote(group.type().getName()) + "\\.")
                .mode(Mode.Throughput)
                .timeUnit(TimeUnit.SECONDS)
                .threads(threads)
                .forks(mode.forks)
                .warmupIterations(mode.warmups * group.warmupFactor())
                .warmupTime(mode.warmupTime)
                .measurementIterations(mode.iterations)
                .measurementTime(mode.iterationTime)
                .jvmArgsAppend(forkArguments())
                .addProfiler(ProcessCpuProfiler.class)
                .shouldFailOnError(true)
                .result(out.resolve(name + ".json").toString())
                .resultFormat(ResultFormatType.JSON)
                .output(out.resolve(name + ".log").toString());
        List<Report.Measurement> measurements = new ArrayList<>();
        for (RunResult result : new Runner(options.build()).run()) {
            var params = result.getParams();
            String benchmark = params.getBenchmark();
            String shortName = benchmark.substring(benchmark.lastIndexOf('.', benchmark.lastIndexOf('.') - 1) + 1)
                    .replace("Benchmark.", ".");
            String paramText = params.getParamsKeys().stream()
                    .map(k -> k + "=" + params.getParam(k))
                    .collect(Collectors.joining(", "));
            var secondary = result.getSecondaryResults();
            measurements.add(new Report.Measurement(shortName, paramText, params.getThreads(),
                    result.getPrimaryResult().getScore(), result.getPrimaryResult().getScoreError(),
                    secondary.containsKey(ProcessCpuProfiler.PROCESS) ? secondary.get(ProcessCpuProfiler.PROCESS).getScore() : Double.NaN,
                    secondary.containsKey(ProcessCpuProfiler.CALLERS) ? secondary.get(ProcessCpuProfiler.CALLERS).getScore() : Double.NaN));
        }
        measurements.sort(Comparator.comparing(Report.Measurement::benchmark));
        return measurements;
    }

    private static String[] forkArguments() {
        List<String> arguments = new ArrayList<>(List.of("-Xms2g", "-Xmx2g"));
        for (String property : Servers.PROPERTIES) {
            String value = System.getProperty(property);
            if (value != null) {
                arguments.add("-D" + property + "=" + value);
            }
        }
        return arguments.toArray(String[]::new);
    }

    private static List<Report.Footprint> footprints() {
        progress("measuring heap per idle entry at " + FOOTPRINT_ENTRIES);
        List<Report.Footprint> footprints = new ArrayList<>();
        footprints.add(new Report.Footprint("session, Usher InMemorySessionStore (via SessionManager)",
                HeapFootprint.bytesPerEntry(FOOTPRINT_ENTRIES, n -> {
                    SessionManager sessions = SessionManager.builder(InMemorySessionStore.builder().maxSessions(n).build())
                            .sweepInterval(Duration.ZERO)
                            .build();
                    for (int i = 0; i < n; i++) {
                        sessions.create("user-" + i, Map.of("plan", "pro"));
                    }
                    return sessions;
                })));
        footprints.add(new Report.Footprint("session, Spring MapSessionRepository",
                HeapFootprint.bytesPerEntry(FOOTPRINT_ENTRIES, n -> {
                    MapSessionRepository sessions = new MapSessionRepository(new ConcurrentHashMap<>());
                    for (int i = 0; i < n; i++) {
                        MapSession s = sessions.createSession();
                        s.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, "user-" + i);
                        s.setAttribute("plan", "pro");
                        sessions.save(s);
                    }
                    return sessions;
                })));
        footprints.add(new Report.Footprint("rate-limit key, Usher RateLimiter (local buckets)",
                HeapFootprint.bytesPerEntry(FOOTPRINT_ENTRIES, n -> {
                    dev.usher.gate.ratelimit.RateLimiter limiter = dev.usher.gate.ratelimit.RateLimiter.builder()
                            .limit(Limit.of("hourly", HOURLY_QUOTA, Duration.ofHours(1)))
                            .maximumKeys(n)
                            .build();
                    for (int i = 0; i < n; i++) {
                        limiter.tryAcquire("user-" + i, TOKENS_USED);
                    }
                    return limiter;
                })));
        footprints.add(new Report.Footprint("rate-limit key, raw Bucket4j bucket in a ConcurrentHashMap",
                HeapFootprint.bytesPerEntry(FOOTPRINT_ENTRIES, n -> {
                    ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
                    for (int i = 0; i < n; i++) {
                        Bucket bucket = Bucket.builder()
                                .addLimit(Bandwidth.builder().capacity(HOURLY_QUOTA).refillGreedy(HOURLY_QUOTA, Duration.ofHours(1)).build())
                                .build();
                        bucket.tryConsume(TOKENS_USED);
                        buckets.put("user-" + i, bucket);
                    }
                    return buckets;
                })));
        footprints.add(new Report.Footprint("rate-limit key, Resilience4j RateLimiter in a ConcurrentHashMap",
                HeapFootprint.bytesPerEntry(FOOTPRINT_ENTRIES, n -> {
                    RateLimiterConfig config = RateLimiterConfig.custom().limitForPeriod(HOURLY_QUOTA)
                            .limitRefreshPeriod(Duration.ofHours(1)).timeoutDuration(Duration.ZERO).build();
                    ConcurrentHashMap<String, RateLimiter> limiters = new ConcurrentHashMap<>();
                    for (int i = 0; i < n; i++) {
                        RateLimiter limiter = RateLimiter.of("user-" + i, config);
                        limiter.acquirePermission(TOKENS_USED);
                        limiters.put(limiter.getName(), limiter);
                    }
                    return limiters;
                })));
        return withTargets(footprints);
    }

    /** Issue 16's footprint targets: an idle session at most 400 B, an idle rate-limit key at most raw Bucket4j's. */
    private static List<Report.Footprint> withTargets(List<Report.Footprint> measured) {
        String bucket4j = "rate-limit key, raw Bucket4j bucket in a ConcurrentHashMap";
        return measured.stream().map(f -> switch (f.entry()) {
            case "session, Usher InMemorySessionStore (via SessionManager)" ->
                    new Report.Footprint(f.entry(), f.bytes(), MAX_BYTES_PER_IDLE_SESSION, null);
            case "rate-limit key, Usher RateLimiter (local buckets)" ->
                    new Report.Footprint(f.entry(), f.bytes(), 0, bucket4j);
            default -> f;
        }).toList();
    }

    /**
     * How long a mode takes for the groups that {@code only} selects, roughly: every benchmark method ×
     * parameter combination × thread count runs in its own forks, each paying JVM start and set-up.
     */
    static String estimate(RunMode mode, Pattern only) {
        int runs = 0;
        double seconds = 0;
        double warmup = mode.warmups * mode.warmupTime.convertTo(TimeUnit.MILLISECONDS) / 1000.0;
        double measured = mode.iterations * mode.iterationTime.convertTo(TimeUnit.MILLISECONDS) / 1000.0;
        for (Group group : GROUPS) {
            if (only.matcher(group.name()).find()) {
                int groupRuns = combinations(group.type()) * group.threads().length;
                runs += groupRuns;
                seconds += groupRuns * mode.forks * (group.overheadSeconds() + warmup * group.warmupFactor() + measured);
            }
        }
        return String.format(Locale.ROOT, "%d JMH runs × %d fork(s) × (set-up + %.1f s warm-up + %.1f s measured)"
                + " ≈ %.0f min (plus about a minute of footprint, round-trip and cluster-queue measurements)",
                runs, mode.forks, warmup, measured, Math.ceil(seconds / 60));
    }

    /** Benchmark methods × the product of the sizes of the {@code @Param} lists. */
    private static int combinations(Class<?> type) {
        int methods = 0;
        for (Method m : type.getMethods()) {
            if (m.isAnnotationPresent(Benchmark.class)) {
                methods++;
            }
        }
        int params = 1;
        for (Field f : type.getFields()) {
            Param p = f.getAnnotation(Param.class);
            if (p != null) {
                params *= p.value().length;
            }
        }
        return methods * params;
    }

    static void progress(String message) {
        System.err.println("[bench] " + message);
    }

    private static String machine() {
        String cpu = "unknown CPU";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                    .filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst().orElse(cpu);
        } catch (IOException ignored) {
            // not Linux: the processor count still says something
        }
        long memory = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize() >> 30;
        return Runtime.getRuntime().availableProcessors() + " cores (" + cpu + "), " + memory + " GiB, "
                + System.getProperty("os.name") + " " + System.getProperty("os.arch");
    }

    private static String loadAverage() {
        return String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }
}
