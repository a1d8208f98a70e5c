package dev.usher.benchmarks;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

/**
 * CPU per operation, whole process and benchmark threads apart, sampled around each iteration in the
 * benchmark's own JVM: process CPU time (every thread, including the ones a component wakes, and the
 * collector) and the CPU time of JMH's worker threads (the callers), each divided by the operations of the
 * iteration. Their difference is what the operation made other threads do; JMH's own control thread adds
 * a little, constant, to the process figure.
 */
public final class ProcessCpuProfiler implements InternalProfiler {
    /** Secondary result: whole-process CPU microseconds per operation. */
    static final String PROCESS = "cpu.process";
    /** Secondary result: CPU microseconds per operation of the calling (benchmark) threads. */
    static final String CALLERS = "cpu.callers";
    private static final String UNIT = "µs/op";

    private final com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private long processBefore;
    private long callersBefore;

    @Override
    public String getDescription() {
        return "whole-process and calling-thread CPU per operation";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
        callersBefore = callerCpuNanos();
        processBefore = os.getProcessCpuTime();
    }

    @Override
    public Collection<? extends Result<?>> afterIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams,
                                                       IterationResult result) {
        long process = os.getProcessCpuTime() - processBefore;
        long callers = callerCpuNanos() - callersBefore;
        long ops = result.getMetadata().getAllOps();
        if (ops <= 0 || process < 0) {
            return List.of();
        }
        return List.of(
                new ScalarResult(PROCESS, process / 1_000.0 / ops, UNIT, AggregationPolicy.AVG),
                new ScalarResult(CALLERS, callers / 1_000.0 / ops, UNIT, AggregationPolicy.AVG));
    }

    /**
     * CPU time of the live JMH worker threads. JMH keeps its workers for the whole fork, so the difference
     * over one iteration is theirs; a worker that ended in between would only make the figure smaller.
     */
    private long callerCpuNanos() {
        long total = 0;
        for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info != null && info.getThreadName().contains("jmh-worker")) {
                long cpu = threads.getThreadCpuTime(info.getThreadId());
                if (cpu > 0) {
                    total += cpu;
                }
            }
        }
        return total;
    }
}
