package dev.usher.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Turns one run's measurements into the tables of the README: throughput with the ratio of every Usher
 * operation to each named peer measured in the same run (and whether the target is met), commands
 * or statements per operation, and heap per idle entry.
 */
final class Report {

    /** One JMH result; {@code benchmark} is {@code Class.method} without the {@code Benchmark} suffix. */
    record Measurement(String benchmark, String params, int threads, double opsPerSecond, double error) {
    }

    /** {@code usher} measured against {@code other}; {@code target} is the least ratio asked for, 0 for none. */
    record Pair(String usher, String other, String label, double target) {
    }

    /** The cost of {@code benchmark} at each value of {@code param}, against its cost at {@code base}. */
    record Scaling(String benchmark, String param, String base, double maxCostRatio) {
    }

    record RoundTrip(String engine, String operation, Map<String, Double> perOperation) {
        double total() {
            return perOperation.values().stream().mapToDouble(Double::doubleValue).sum();
        }
    }

    record Footprint(String entry, long bytes) {
    }

    static final List<Pair> PAIRS = List.of(
            new Pair("InMemorySession.usherTouch", "InMemorySession.springTouch", "Spring MapSessionRepository", 2.0),
            new Pair("InMemorySession.usherTouch", "InMemorySession.rawCompute", "raw ConcurrentHashMap.compute", 0.5),
            new Pair("InMemorySession.usherUpdate", "InMemorySession.springUpdate", "Spring MapSessionRepository", 2.0),
            new Pair("InMemorySession.usherUpdate", "InMemorySession.rawCompute", "raw ConcurrentHashMap.compute", 0.5),
            new Pair("InMemorySession.usherUpdateHeld", "InMemorySession.springUpdate", "Spring MapSessionRepository", 2.0),
            new Pair("RedisSession.usherTouch", "RedisSession.springTouch", "Spring RedisSessionRepository", 0),
            new Pair("RedisSession.usherTouch", "RedisSession.rawEvalsha", "raw Jedis EVALSHA", 0.8),
            new Pair("RedisSession.usherUpdate", "RedisSession.springUpdate", "Spring RedisSessionRepository", 0),
            new Pair("RedisSession.usherUpdate", "RedisSession.rawEvalsha", "raw Jedis EVALSHA", 0.8),
            new Pair("RedisSession.usherUpdateHeld", "RedisSession.rawEvalsha", "raw Jedis EVALSHA", 0.8),
            new Pair("JdbcSession.usherTouch", "JdbcSession.springTouch", "Spring JdbcIndexedSessionRepository", 1.5),
            new Pair("JdbcSession.usherTouch", "JdbcSession.rawSelect", "raw SELECT by key", 0.8),
            new Pair("JdbcSession.usherUpdate", "JdbcSession.springUpdate", "Spring JdbcIndexedSessionRepository", 1.5),
            new Pair("JdbcSession.usherUpdate", "JdbcSession.rawUpsert", "raw upsert", 0.8),
            new Pair("JdbcSession.usherUpdateHeld", "JdbcSession.rawUpsert", "raw upsert", 0.8),
            new Pair("Admission.usherEnterClose", "Admission.fairSemaphore", "fair Semaphore", 0.5),
            new Pair("Admission.usherEnterClose", "Admission.resilience4jBulkhead", "Resilience4j SemaphoreBulkhead", 0),
            new Pair("RateLimiter.usherTryAcquire", "RateLimiter.rawBucket4j", "raw Bucket4j bucket", 0.8),
            new Pair("RateLimiter.usherTryAcquire", "RateLimiter.resilience4jRateLimiter", "Resilience4j RateLimiter", 0),
            new Pair("WorkflowCache.usherAcquireClose", "WorkflowCache.caffeineGetIfPresent", "Caffeine getIfPresent", 0.3),
            new Pair("GatePath.usherGatePath", "GatePath.bareHandler", "bare handler, same server", 0));

    static final List<Scaling> SCALINGS = List.of(
            new Scaling("AdmissionScale.enterCancel", "waiters", "100", 3),
            new Scaling("AdmissionScale.position", "waiters", "100", 3),
            new Scaling("AdmissionScale.keepAliveTick", "waiters", "100", 3),
            new Scaling("AdmissionScale.admission", "waiters", "100", 3));

    private Report() {
    }

    static String throughputTable(List<Measurement> measurements) {
        StringBuilder out = new StringBuilder();
        out.append("| benchmark | params | threads | ops/s | error (99.9%) | ratio to peers, same run |\n");
        out.append("|---|---|---:|---:|---:|---|\n");
        for (Measurement m : measurements) {
            out.append("| ").append(m.benchmark())
                    .append(" | ").append(m.params())
                    .append(" | ").append(m.threads())
                    .append(" | ").append(number(m.opsPerSecond()))
                    .append(" | ").append(Double.isNaN(m.error()) ? "n/a" : "± " + number(m.error()))
                    .append(" | ").append(ratios(m, measurements))
                    .append(" |\n");
        }
        return out.toString();
    }

    private static String ratios(Measurement m, List<Measurement> all) {
        List<String> parts = new ArrayList<>();
        for (Pair pair : PAIRS) {
            if (!pair.usher().equals(m.benchmark())) {
                continue;
            }
            find(all, pair.other(), m.params(), m.threads()).ifPresent(other -> {
                double ratio = m.opsPerSecond() / other.opsPerSecond();
                String verdict = pair.target() == 0 ? ""
                        : String.format(Locale.ROOT, " (target ≥ %s: %s)", trim(pair.target()), ratio >= pair.target() ? "met" : "**missed**");
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
                parts.add(String.format(Locale.ROOT, "cost %.2f× that at %s=%s (target ≤ %s: %s)", costRatio,
                        scaling.param(), scaling.base(), trim(scaling.maxCostRatio()),
                        costRatio <= scaling.maxCostRatio() ? "met" : "**missed**"));
            });
        }
        return String.join("; ", parts);
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
        out.append("| idle entry (").append(number(entries)).append(" of them) | heap bytes per entry |\n|---|---:|\n");
        for (Footprint f : footprints) {
            out.append("| ").append(f.entry()).append(" | ").append(number(f.bytes())).append(" |\n");
        }
        return out.toString();
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

    private static String number(double value) {
        return value >= 100 ? String.format(Locale.ROOT, "%,.0f", value) : String.format(Locale.ROOT, "%.2f", value);
    }

    private static String trim(double unrounded) {
        double value = Math.round(unrounded * 100) / 100.0;
        return value == Math.rint(value) ? Long.toString((long) value) : String.format(Locale.ROOT, "%.2f", value);
    }
}
