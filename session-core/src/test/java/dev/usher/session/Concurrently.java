package dev.usher.session;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** Runs workers on their own threads, released at once, for concurrency tests. Published in the test-jar. */
public final class Concurrently {
    private Concurrently() {
    }

    /** One worker; {@code thread} is its index, 0 to threads - 1. */
    @FunctionalInterface
    public interface Worker {
        void run(int thread) throws Exception;
    }

    /** Runs {@code threads} workers released at once and waits for all; rethrows the first failure. */
    public static void run(int threads, Worker worker) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            futures.add(pool.submit(() -> {
                start.await();
                worker.run(thread);
                return null;
            }));
        }
        start.countDown();
        try {
            for (Future<?> f : futures) {
                f.get(10, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
