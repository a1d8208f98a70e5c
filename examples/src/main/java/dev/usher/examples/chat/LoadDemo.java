package dev.usher.examples.chat;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Simulates N users, each with its own session, sending one prompt at once to a running example server,
 * and prints a live summary once a second: admitted, still queued, done, wait p50/p95, 429s and 503s, and
 * how far the wait estimates were off: for the estimate given when the user was queued, and for every
 * estimate the user was told while waiting (each against the wait that was actually left from then on),
 * the median of |estimate - actual| / actual.
 *
 * <p>Usage: {@code LoadDemo [users=50] [baseUrl=http://localhost:8080]}.
 */
public final class LoadDemo {
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicInteger admitted = new AtomicInteger();
    private final AtomicInteger done = new AtomicInteger();
    private final AtomicInteger limited = new AtomicInteger();
    private final AtomicInteger rejected = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private final List<Long> waitsMillis = Collections.synchronizedList(new ArrayList<>());
    private final List<Double> errorsAtQueueing = Collections.synchronizedList(new ArrayList<>());
    private final List<Double> errorsOfEveryUpdate = Collections.synchronizedList(new ArrayList<>());

    public static void main(String[] args) throws Exception {
        int users = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        String base = args.length > 1 ? args[1] : "http://localhost:8080";
        new LoadDemo().run(users, URI.create(base));
    }

    void run(int users, URI base) throws InterruptedException {
        System.out.printf("%d users -> %s%n", users, base);
        ExecutorService pool = Http.requestExecutor();
        long start = System.nanoTime();
        for (int i = 0; i < users; i++) {
            int user = i;
            pool.execute(() -> oneUser(base, user));
        }
        pool.shutdown();
        while (!pool.awaitTermination(1, TimeUnit.SECONDS)) {
            printSummary(start);
        }
        printSummary(start);
    }

    private void oneUser(URI base, int user) {
        // A client of its own: its own cookie jar, so its own session.
        HttpClient client = HttpClient.newBuilder().cookieHandler(new java.net.CookieManager()).build();
        HttpRequest request = HttpRequest.newBuilder(base.resolve("/api/workflow/execute"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"question " + user + "\",\"projectName\":\"demo " + user + "\"}"))
                .build();
        long sent = System.nanoTime();
        boolean wasQueued = false;
        List<long[]> told = new ArrayList<>(); // {told at (nanos), estimate (millis)}
        try {
            // Log in first: the server then rate-limits each user by session instead of all by address.
            client.send(HttpRequest.newBuilder(base.resolve("/api/login")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"user\":\"demo-" + user + "\"}")).build(),
                    HttpResponse.BodyHandlers.discarding());
            sent = System.nanoTime();
            HttpResponse<InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() == 429) {
                limited.incrementAndGet();
                return;
            }
            if (response.statusCode() == 503) {
                rejected.incrementAndGet();
                return;
            }
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    Map<?, ?> event = Http.JSON.readValue(line, Map.class);
                    if (event.get("estimatedWaitMillis") instanceof Number estimate) {
                        told.add(new long[] {System.nanoTime(), estimate.longValue()});
                    }
                    if (line.contains("\"type\":\"queued\"")) {
                        wasQueued = true;
                        queued.incrementAndGet();
                    } else if (line.contains("\"type\":\"started\"")) {
                        recordErrors(told, System.nanoTime());
                        if (wasQueued) {
                            queued.decrementAndGet();
                            wasQueued = false;
                        }
                        admitted.incrementAndGet();
                        waitsMillis.add((System.nanoTime() - sent) / 1_000_000);
                    } else if (line.contains("\"type\":\"done\"")) {
                        done.incrementAndGet();
                    }
                }
            }
        } catch (Exception e) {
            failed.incrementAndGet();
        } finally {
            if (wasQueued) {
                queued.decrementAndGet();
            }
        }
    }

    private void recordErrors(List<long[]> told, long startedAt) {
        for (int i = 0; i < told.size(); i++) {
            double actualMillis = (startedAt - told.get(i)[0]) / 1e6;
            if (actualMillis < 1) {
                continue; // told right before the start: no wait left to be wrong about
            }
            double error = Math.abs(told.get(i)[1] - actualMillis) / actualMillis;
            if (i == 0) {
                errorsAtQueueing.add(error);
            }
            errorsOfEveryUpdate.add(error);
        }
    }

    private static String median(List<Double> values) {
        List<Double> sorted;
        synchronized (values) {
            sorted = new ArrayList<>(values);
        }
        if (sorted.isEmpty()) {
            return "-";
        }
        Collections.sort(sorted);
        return String.format("%.0f%% (n=%d)", 100 * sorted.get((sorted.size() - 1) / 2), sorted.size());
    }

    private void printSummary(long start) {
        List<Long> waits;
        synchronized (waitsMillis) {
            waits = new ArrayList<>(waitsMillis);
        }
        Collections.sort(waits);
        System.out.printf("t=%3ds admitted=%d queued=%d done=%d wait p50=%s p95=%s 429=%d 503=%d failed=%d"
                        + " | estimate error p50: when queued %s, every update %s%n",
                Duration.ofNanos(System.nanoTime() - start).toSeconds(), admitted.get(), queued.get(), done.get(),
                percentile(waits, 0.50), percentile(waits, 0.95), limited.get(), rejected.get(), failed.get(),
                median(errorsAtQueueing), median(errorsOfEveryUpdate));
    }

    private static String percentile(List<Long> sorted, double p) {
        if (sorted.isEmpty()) {
            return "-";
        }
        long ms = sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
        return String.format("%.1fs", ms / 1000.0);
    }
}
