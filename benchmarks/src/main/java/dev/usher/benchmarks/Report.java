package dev.usher.benchmarks;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Turns one run's measurements into the tables of the README: throughput with the ratio of every Usher
 * operation to each named peer measured in the same run and the verdict on the target, the gate's
 * latency and CPU per request, commands or statements per operation, and heap per idle entry.
 *
 * <p>Verdicts read the error bars (JMH's 99.9% interval): a target is <em>met</em> only when the whole
 * interval clears it, <em>missed</em> when the whole interval falls short, and <em>not shown</em> when the
 * interval straddles it (or there are no error bars, as in smoke mode). Every Usher row whose error is 10%
 * of its score or more is flagged: its verdict needs a longer or quieter run.
 */
final class Report {
    /** An Usher row with an error at or above this share of its score is flagged. */
    static final double MAX_RELATIVE_ERROR = 0.10;
    /** "Whole-process CPU ≈ the caller's": at most this much more than the calling threads used. */
    static final double MAX_PROCESS_TO_CALLER_CPU = 1.15;

    /**
     * One JMH result; {@code benchmark} is {@code Class.method} without the {@code Benchmark} suffix;
     * {@code processCpu} and {@code callerCpu} are microseconds of CPU per operation (NaN when not profiled).
     */
    record Measurement(String benchmark, String params, int threads, double opsPerSecond, double error,
                       double processCpu, double callerCpu) {
        Measurement(String benchmark, String params, int threads, double opsPerSecond, double error) {
            this(benchmark, params, threads, opsPerSecond, error, Double.NaN, Double.NaN);
        }

        /** Error bars at 10% of the score or wider; a row without error bars (smoke) is not flagged. */
        boolean noisy() {
            return error >= MAX_RELATIVE_ERROR * opsPerSecond;
        }

        /** Wall time of one operation as each calling thread sees it. */
        double micros() {
            return threads * 1e6 / opsPerSecond;
        }
    }

    /**
     * {@code usher} measured against {@code other}; {@code target} is the least ratio asked for (0 for none),
     * at {@code threads} calling threads only, or at every thread count when 0.
     */
    record Pair(String usher, String other, String label, double target, int threads) {
        Pair(String usher, String other, String label, double target) {
            this(usher, other, label, target, 0);
        }

        boolean appliesTo(int t) {
            return threads == 0 || threads == t;
        }
    }

    /** At most {@code maxMicros} per operation for {@code benchmark} with {@code params} at {@code threads}. */
    record Latency(String benchmark, String params, int threads, double maxMicros) {
    }

    /** The cost of {@code benchmark} at each value of {@code param}, against its cost at {@code base}. */
    record Scaling(String benchmark, String param, String base, double maxCostRatio) {
    }

    record RoundTrip(String engine, String operation, Map<String, Double> perOperation) {
        double total() {
            return perOperation.values().stream().mapToDouble(Double::doubleValue).sum();
        }
    }

    /**
     * Heap per idle entry; {@code maxBytes} is the target (0 for none), or {@code sameAsEntry} names the
     * entry whose bytes are the target.
     */
    record Footprint(String entry, long bytes, long maxBytes, String sameAsEntry) {
        Footprint(String entry, long bytes) {
            this(entry, bytes, 0, null);
        }
    }

    // The targets of issue 16's table, and the peers shown beside them for context (target 0).
    static final List<Pair> PAIRS = List.of(
            new Pair("InMemorySession.usherTouch", "InMemorySession.springTouch", "Spring MapSessionRepository", 5.0),
            new Pair("InMemorySession.usherTouch", "InMemorySession.rawCompute", "raw ConcurrentHashMap.compute", 0),
            new Pair("InMemorySession.usherUpdate", "InMemorySession.springUpdate", "Spring MapSessionRepository", 2.0),
            new Pair("InMemorySession.usherUpdate", "InMemorySession.rawCompute", "raw ConcurrentHashMap.compute", 0),
            new Pair("InMemorySession.usherUpdateHeld", "InMemorySession.springUpdate", "Spring MapSessionRepository", 2.0),
            new Pair("RedisSession.usherTouch", "RedisSession.springTouch", "Spring RedisSessionRepository", 0),
            new Pair("RedisSession.usherTouch", "RedisSession.rawEvalsha", "raw Jedis EVALSHA", 0),
            new Pair("RedisSession.usherUpdate", "RedisSession.springUpdate", "Spring RedisSessionRepository", 0),
            new Pair("RedisSession.usherUpdate", "RedisSession.rawEvalsha", "raw Jedis EVALSHA", 0),
            new Pair("RedisSession.usherUpdateHeld", "RedisSession.rawEvalsha", "raw Jedis EVALSHA", 0.8),
            new Pair("JdbcSession.usherTouch", "JdbcSession.springTouch", "Spring JdbcIndexedSessionRepository", 0),
            new Pair("JdbcSession.usherTouch", "JdbcSession.rawSelect", "raw SELECT by key", 0.8),
            new Pair("JdbcSession.usherUpdate", "JdbcSession.springUpdate", "Spring JdbcIndexedSessionRepository", 0),
            new Pair("JdbcSession.usherUpdate", "JdbcSession.rawUpsert", "raw upsert", 0),
            new Pair("JdbcSession.usherUpdateHeld", "JdbcSession.rawUpsert", "raw upsert", 0.8),
            new Pair("Admission.usherEnterClose", "Admission.fairSemaphore", "fair Semaphore", 0),
            new Pair("Admission.usherEnterClose", "Admission.resilience4jBulkhead", "Resilience4j SemaphoreBulkhead", 0.25, 1),
            new Pair("Admission.usherEnterClose", "Admission.resilience4jBulkhead", "Resilience4j SemaphoreBulkhead", 0.5, 2),
            new Pair("Admission.usherEnterClose", "Admission.twoClockReads", "two System.nanoTime() reads", 0),
            new Pair("RateLimiter.usherTryAcquire", "RateLimiter.rawBucket4j", "raw Bucket4j bucket", 0.8),
            new Pair("RateLimiter.usherTryAcquire", "RateLimiter.resilience4jRateLimiter", "Resilience4j RateLimiter", 0),
            new Pair("WorkflowCache.usherAcquireClose", "WorkflowCache.caffeineGetIfPresent", "Caffeine getIfPresent", 0.3),
            new Pair("Gate.usherGate", "Gate.directCalls", "the same components called directly", 0),
            new Pair("GatePath.usherGatePath", "GatePath.bareHandler", "bare handler, same server", 0.9));

    static final List<Latency> LATENCIES = List.of(
            new Latency("Gate.usherGate", "workspaces=false", 1, 5),
            new Latency("Gate.usherGate", "workspaces=true", 1, 8));

    static final List<Scaling> SCALINGS = List.of(
            new Scaling("AdmissionScale.enterCancel", "waiters", "100", 3),
            new Scaling("AdmissionScale.position", "waiters", "100", 3),
            new Scaling("AdmissionScale.keepAliveTick", "waiters", "100", 3),
            new Scaling("AdmissionScale.admission", "waiters", "100", 3));

    /** Rows that are peers or baselines, not Usher: they are not flagged for their error. */
    private static final Set<String> PEERS = peers();

    private Report() {
    }

    private static Set<String> peers() {
        Set<String> peers = new HashSet<>();
        PAIRS.forEach(p -> peers.add(p.other()));
        return Set.copyOf(peers);
    }

    static boolean isUsher(Measurement m) {
        return !PEERS.contains(m.benchmark());
    }

    static String throughputTable(List<Measurement> measurements) {
        StringBuilder out = new StringBuilder();
        out.append("| benchmark | params | threads | ops/s | error (99.9%) | CPU µs/op: process (callers) | ratio to peers, same run |\n");
        out.append("|---|---|---:|---:|---:|---:|---|\n");
        for (Measurement m : measurements) {
            out.append("| ").append(m.benchmark())
                    .append(" | ").append(m.params())
                    .append(" | ").append(m.threads())
                    .append(" | ").append(number(m.opsPerSecond()))
                    .append(" | ").append(errorText(m))
                    .append(" | ").append(Double.isNaN(m.processCpu()) ? "n/a"
                            : decimal(m.processCpu()) + " (" + decimal(m.callerCpu()) + ")")
                    .append(" | ").append(ratios(m, measurements))
                    .append(" |\n");
        }
        List<String> noisy = measurements.stream()
                .filter(m -> isUsher(m) && m.noisy())
                .map(m -> m.benchmark() + (m.params().isEmpty() ? "" : " [" + m.params() + "]") + " t" + m.threads())
                .toList();
        if (!noisy.isEmpty()) {
            out.append("\nUsher rows whose error is ").append(percent(MAX_RELATIVE_ERROR))
                    .append(" of the score or more (⚠; their verdicts need a longer or quieter run): ")
                    .append(String.join(", ", noisy)).append(".\n");
        }
        return out.toString();
    }

    /** The gate per request: wall time per caller, whole-process and caller CPU, against the direct calls. */
    static String gateTable(List<Measurement> measurements) {
        List<Measurement> gate = measurements.stream().filter(m -> m.benchmark().startsWith("Gate.")).toList();
        if (gate.isEmpty()) {
            return "";
        }
        StringBuilder out = new StringBuilder();
        out.append("| gate in process | params | threads | µs per request (each caller) | target | CPU µs per request, whole process | CPU µs per request, callers | process ÷ callers |\n");
        out.append("|---|---|---:|---:|---|---:|---:|---:|\n");
        for (Measurement m : gate) {
            double spread = Double.isNaN(m.error()) ? Double.NaN
                    : m.opsPerSecond() <= m.error() ? Double.POSITIVE_INFINITY
                    : m.threads() * 1e6 / (m.opsPerSecond() - m.error()) - m.micros();
            double cpuRatio = m.processCpu() / m.callerCpu();
            out.append("| ").append(m.benchmark())
                    .append(" | ").append(m.params())
                    .append(" | ").append(m.threads())
                    .append(" | ").append(String.format(Locale.ROOT, "%.2f", m.micros()))
                    .append(Double.isNaN(spread) ? "" : Double.isInfinite(spread) ? " (+∞)"
                            : String.format(Locale.ROOT, " (+%.2f)", spread))
                    .append(" | ").append(latencyVerdict(m))
                    .append(" | ").append(decimal(m.processCpu()))
                    .append(" | ").append(decimal(m.callerCpu()))
                    .append(" | ").append(Double.isNaN(cpuRatio) ? "n/a" : String.format(Locale.ROOT, "%.2f×%s", cpuRatio,
                            m.benchmark().equals("Gate.usherGate")
                                    ? (cpuRatio <= MAX_PROCESS_TO_CALLER_CPU ? " (≈ callers': met)" : " (**other threads work**)")
                                    : ""))
                    .append(" |\n");
        }
        out.append("\n\"+x\" is how much slower the low end of the 99.9% interval is. \"≈ callers'\" means the whole")
                .append(" process used at most ").append(trim(MAX_PROCESS_TO_CALLER_CPU))
                .append("× the calling threads' CPU (JMH's own control thread included).\n");
        return out.toString();
    }

    private static String latencyVerdict(Measurement m) {
        for (Latency latency : LATENCIES) {
            if (latency.benchmark().equals(m.benchmark()) && latency.params().equals(m.params())
                    && latency.threads() == m.threads()) {
                double fastest = m.threads() * 1e6 / (m.opsPerSecond() + nanToZero(m.error()));
                double slowest = m.opsPerSecond() > m.error() ? m.threads() * 1e6 / (m.opsPerSecond() - m.error())
                        : Double.POSITIVE_INFINITY;
                String verdict = Double.isNaN(m.error()) ? "not shown (no error bars)"
                        : slowest <= latency.maxMicros() ? "met"
                        : fastest > latency.maxMicros() ? "**missed**" : "not shown (error bars overlap)";
                return "≤ " + trim(latency.maxMicros()) + " µs: " + verdict;
            }
        }
        return "";
    }

    private static String ratios(Measurement m, List<Measurement> all) {
        List<String> parts = new ArrayList<>();
        for (Pair pair : PAIRS) {
            if (!pair.usher().equals(m.benchmark()) || !pair.appliesTo(m.threads())) {
                continue;
            }
            find(all, pair.other(), m.params(), m.threads()).ifPresent(other -> {
                double ratio = m.opsPerSecond() / other.opsPerSecond();
                String verdict = pair.target() == 0 ? "" : " (target ≥ " + trim(pair.target()) + ": "
                        + atLeastVerdict(m, other, pair.target()) + ")";
                parts.add(String.format(Locale.ROOT, "%.2f× %s%s", ratio, pair.label(), verdict));
            });
        }
        for (Scaling scaling : SCALINGS) {
            if (!scaling.benchmark().equals(m.benchmark())) {
                continue;
            }
            String baseParams = replaceParam(m.params(), scaling.param(), scaling.base());
            if (baseParams.equals(m.params())) {
                continue;
            }
            find(all, m.benchmark(), baseParams, m.threads()).ifPresent(base -> {
                double costRatio = base.opsPerSecond() / m.opsPerSecond();
                String verdict = atMostVerdict(base, m, scaling.maxCostRatio());
                parts.add(String.format(Locale.ROOT, "cost %.2f× that at %s=%s (target ≤ %s: %s)", costRatio,
                        scaling.param(), scaling.base(), trim(scaling.maxCostRatio()), verdict));
            });
        }
        return String.join("; ", parts);
    }

    /**
     * Whether {@code usher / other ≥ target} holds over the whole 99.9% interval of the ratio (met), fails
     * over all of it (missed), or the interval straddles the target (not shown).
     */
    static String atLeastVerdict(Measurement usher, Measurement other, double target) {
        Interval r = Interval.ofRatio(usher, other);
        return r == null ? "not shown (no error bars)" : r.verdict(r.low() >= target, r.high() < target);
    }

    /**
     * Whether the cost ratio {@code base / m} (throughputs, so the cost of {@code m} over that of {@code base})
     * stays at or below {@code max} over the whole 99.9% interval (met), exceeds it over all of it (missed),
     * or the interval straddles {@code max} (not shown).
     */
    static String atMostVerdict(Measurement base, Measurement m, double max) {
        Interval r = Interval.ofRatio(base, m);
        return r == null ? "not shown (no error bars)" : r.verdict(r.high() <= max, r.low() > max);
    }

    /** The 99.9% interval of a ratio of two throughputs. */
    private record Interval(double low, double high) {
        /** From (a − e) ÷ (b + e) to (a + e) ÷ (b − e), unbounded above when b's bar reaches zero; null without bars. */
        static Interval ofRatio(Measurement a, Measurement b) {
            if (Double.isNaN(a.error()) || Double.isNaN(b.error())) {
                return null;
            }
            double low = (a.opsPerSecond() - a.error()) / (b.opsPerSecond() + b.error());
            double high = b.opsPerSecond() > b.error()
                    ? (a.opsPerSecond() + a.error()) / (b.opsPerSecond() - b.error())
                    : Double.POSITIVE_INFINITY;
            return new Interval(Math.max(low, 0), high);
        }

        String verdict(boolean met, boolean missed) {
            if (met) {
                return "met";
            }
            if (missed) {
                return "**missed**";
            }
            return String.format(Locale.ROOT, "not shown (interval %.2f–%s)", low,
                    Double.isInfinite(high) ? "∞" : String.format(Locale.ROOT, "%.2f", high));
        }
    }

    static String roundTripTable(List<RoundTrip> roundTrips) {
        StringBuilder out = new StringBuilder();
        out.append("| engine | operation | per operation | counted |\n|---|---|---:|---|\n");
        for (RoundTrip r : roundTrips) {
            String breakdown = r.perOperation().entrySet().stream()
                    .map(e -> String.format(Locale.ROOT, "%s %s", trim(e.getValue()), e.getKey()))
                    .collect(Collectors.joining(", "));
            out.append("| ").append(r.engine()).append(" | ").append(r.operation())
                    .append(" | ").append(trim(r.total())).append(" | ").append(breakdown).append(" |\n");
        }
        return out.toString();
    }

    static String footprintTable(int entries, List<Footprint> footprints) {
        StringBuilder out = new StringBuilder();
        out.append("| idle entry (").append(number(entries)).append(" of them) | heap bytes per entry | target |\n|---|---:|---|\n");
        for (Footprint f : footprints) {
            out.append("| ").append(f.entry()).append(" | ").append(number(f.bytes())).append(" | ")
                    .append(footprintVerdict(f, footprints)).append(" |\n");
        }
        return out.toString();
    }

    private static String footprintVerdict(Footprint f, List<Footprint> all) {
        long limit = f.maxBytes();
        String what = limit + " B";
        if (f.sameAsEntry() != null) {
            Optional<Footprint> peer = all.stream().filter(p -> p.entry().equals(f.sameAsEntry())).findFirst();
            if (peer.isEmpty()) {
                return "";
            }
            limit = peer.get().bytes();
            what = f.sameAsEntry() + "'s (" + limit + " B)";
        }
        if (limit <= 0) {
            return "";
        }
        return "≤ " + what + ": " + (f.bytes() <= limit ? "met" : "**missed**");
    }

    private static Optional<Measurement> find(List<Measurement> all, String benchmark, String params, int threads) {
        return all.stream()
                .filter(x -> x.benchmark().equals(benchmark) && x.params().equals(params) && x.threads() == threads)
                .findFirst();
    }

    private static String replaceParam(String params, String name, String value) {
        return java.util.Arrays.stream(params.split(", "))
                .map(p -> p.startsWith(name + "=") ? name + "=" + value : p)
                .collect(Collectors.joining(", "));
    }

    private static String errorText(Measurement m) {
        if (Double.isNaN(m.error())) {
            return "n/a";
        }
        return "± " + number(m.error()) + " (" + percent(m.error() / m.opsPerSecond()) + ")"
                + (isUsher(m) && m.noisy() ? " ⚠" : "");
    }

    private static double nanToZero(double value) {
        return Double.isNaN(value) ? 0 : value;
    }

    private static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.0f%%", fraction * 100);
    }

    private static String decimal(double value) {
        return Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, "%.2f", value);
    }

    private static String number(double value) {
        return value >= 100 ? String.format(Locale.ROOT, "%,.0f", value) : String.format(Locale.ROOT, "%.2f", value);
    }

    private static String trim(double unrounded) {
        double value = Math.round(unrounded * 100) / 100.0;
        return value == Math.rint(value) ? Long.toString((long) value) : String.format(Locale.ROOT, "%.2f", value);
    }
}
