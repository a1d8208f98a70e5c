package dev.usher.benchmarks;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.Ticket;
import dev.usher.gate.redis.RedisAdmissionQueue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.UnifiedJedis;

/**
 * What JMH's steady-state loop cannot show for the cluster-wide queue, measured side by side with the local
 * queue: Redis commands per enter and per close (counted on the server), the latency from a release to the
 * admission of the waiter behind it (through pub/sub when the two are on different instances), and the
 * throughput of three instances sharing one queue against one local queue with the same threads and cap.
 * The three instances are three queue objects with their own Redis clients in this JVM.
 */
final class ClusterQueueMeasurements {
    private static final Duration AWAIT = Duration.ofSeconds(30);

    private ClusterQueueMeasurements() {
    }

    static void deleteQueue(UnifiedJedis jedis, String name) {
        for (String key : jedis.keys("usher:q:{" + name + "}:*")) {
            jedis.del(key);
        }
    }

    private static RedisAdmissionQueue redisQueue(UnifiedJedis jedis, String name, int maxRunning) {
        // A long lease: no renewal lands in a counting window.
        return RedisAdmissionQueue.builder(jedis, name, maxRunning).leaseTime(Duration.ofMinutes(10)).build();
    }

    static List<Report.RoundTrip> roundTrips(int times) throws Exception {
        List<Report.RoundTrip> counted = new ArrayList<>();
        String name = "bench-rt-" + UUID.randomUUID().toString().substring(0, 8);
        try (RedisClient jedis = RedisClient.create(Servers.redisHost(), Servers.redisPort());
             RedisAdmissionQueue queue = redisQueue(jedis, name, times + 1);
             RedisMonitor monitor = new RedisMonitor(Servers.redisHost(), Servers.redisPort())) {
            List<Permit> permits = new ArrayList<>();
            int[] i = {0};
            counted.add(new Report.RoundTrip("Redis", "Usher RedisAdmissionQueue enter (admitted at once)",
                    monitor.commandsPerOperation(name, times, () -> permits.add(queue.enter("user-" + i[0]++).permit().join()))));
            int[] j = {0};
            counted.add(new Report.RoundTrip("Redis", "Usher RedisAdmissionQueue Permit.close",
                    monitor.commandsPerOperation(name, times, () -> permits.get(j[0]++).close())));
            List<Ticket> waiting = new ArrayList<>();
            Permit holder;
            try (RedisAdmissionQueue single = redisQueue(jedis, name + "-1", 1)) {
                holder = single.enter("holder").permit().join();
                counted.add(new Report.RoundTrip("Redis", "Usher RedisAdmissionQueue enter (queued)",
                        monitor.commandsPerOperation(name, times, () -> waiting.add(single.enter("w" + waiting.size())))));
                int[] k = {0};
                counted.add(new Report.RoundTrip("Redis", "Usher RedisAdmissionQueue cancel",
                        monitor.commandsPerOperation(name, times, () -> waiting.get(k[0]++).cancel())));
                holder.close();
            }
            deleteQueue(jedis, name + "-1");
        } finally {
            try (RedisClient jedis = RedisClient.create(Servers.redisHost(), Servers.redisPort())) {
                deleteQueue(jedis, name);
            }
        }
        return counted;
    }

    /** Release-to-admission latency, p50 / p99 / max in microseconds, local and across two instances. */
    static String latencyTable(int samples) throws Exception {
        StringBuilder out = new StringBuilder("Admission latency after a release (one slot, one waiter; from the "
                + "holder's close() to the waiter's await() returning), " + samples + " samples:\n\n"
                + "| queue | p50 µs | p99 µs | max µs |\n|---|---:|---:|---:|\n");
        try (AdmissionQueue local = AdmissionQueue.builder(1).name("bench-latency").build()) {
            out.append(row("Usher AdmissionQueue (local, two threads)", latencies(local, local, samples)));
        }
        String name = "bench-lat-" + UUID.randomUUID().toString().substring(0, 8);
        try (RedisClient a = RedisClient.create(Servers.redisHost(), Servers.redisPort());
             RedisClient b = RedisClient.create(Servers.redisHost(), Servers.redisPort());
             RedisAdmissionQueue holderSide = redisQueue(a, name, 1);
             RedisAdmissionQueue waiterSide = redisQueue(b, name, 1)) {
            out.append(row("Usher RedisAdmissionQueue (holder and waiter on two instances, woken by pub/sub)",
                    latencies(holderSide, waiterSide, samples)));
        } finally {
            try (RedisClient jedis = RedisClient.create(Servers.redisHost(), Servers.redisPort())) {
                deleteQueue(jedis, name);
            }
        }
        return out.toString();
    }

    private static long[] latencies(AdmissionQueue holderSide, AdmissionQueue waiterSide, int samples) throws Exception {
        long[] micros = new long[samples];
        Permit held = holderSide.enter("holder").await(AWAIT);
        for (int i = 0; i < samples; i++) {
            Ticket waiter = waiterSide.enter("waiter");
            long start = System.nanoTime();
            held.close();
            Permit got = waiter.await(AWAIT);
            micros[i] = (System.nanoTime() - start) / 1_000;
            // The roles swap: the waiter now holds the slot, and the next waiter queues on the other side.
            held = got;
            AdmissionQueue swap = holderSide;
            holderSide = waiterSide;
            waiterSide = swap;
        }
        held.close();
        return micros;
    }

    private static String row(String what, long[] micros) {
        long[] sorted = micros.clone();
        Arrays.sort(sorted);
        return String.format(Locale.ROOT, "| %s | %d | %d | %d |%n", what, sorted[sorted.length / 2],
                sorted[(int) Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)], sorted[sorted.length - 1]);
    }

    /** Runs of zero length per second: 3 instances × 4 threads on one Redis queue vs 12 threads on one local queue. */
    static String throughputTable(Duration each, int maxRunning) throws Exception {
        StringBuilder out = new StringBuilder("Throughput of enter → permit → close with no work, cap " + maxRunning
                + ", 12 threads, 16 keys, " + each.toSeconds() + " s each:\n\n| setup | runs/s |\n|---|---:|\n");
        try (AdmissionQueue local = AdmissionQueue.builder(maxRunning).name("bench-tp").build()) {
            out.append(String.format(Locale.ROOT, "| one local AdmissionQueue | %.0f |%n",
                    throughput(List.of(local, local, local), each)));
        }
        String name = "bench-tp-" + UUID.randomUUID().toString().substring(0, 8);
        List<RedisClient> clients = new ArrayList<>();
        List<AdmissionQueue> queues = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                RedisClient jedis = RedisClient.create(Servers.redisHost(), Servers.redisPort());
                clients.add(jedis);
                queues.add(redisQueue(jedis, name, maxRunning));
            }
            out.append(String.format(Locale.ROOT, "| 3 instances on one RedisAdmissionQueue | %.0f |%n",
                    throughput(queues, each)));
        } finally {
            queues.forEach(AdmissionQueue::close);
            deleteQueue(clients.get(0), name);
            clients.forEach(RedisClient::close);
        }
        return out.toString();
    }

    private static double throughput(List<AdmissionQueue> instances, Duration each) throws InterruptedException {
        LongAdder runs = new LongAdder();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 12; t++) {
            AdmissionQueue q = instances.get(t % instances.size());
            String key = "user-" + (t % 16);
            Thread thread = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        q.enter(key).await(AWAIT).close();
                        runs.increment();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
            }, "bench-throughput-" + t);
            threads.add(thread);
        }
        threads.forEach(Thread::start);
        Thread.sleep(each.toMillis()); // the measurement window itself
        stop.set(true);
        for (Thread thread : threads) {
            thread.join();
        }
        return runs.sum() / (each.toMillis() / 1000.0);
    }
}
