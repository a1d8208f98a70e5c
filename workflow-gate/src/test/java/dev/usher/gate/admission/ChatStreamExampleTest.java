package dev.usher.gate.admission;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.Writer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ChatStreamExampleTest {
    private static final String STARTED = "\\{\"event\":\"started\",\"waitedSeconds\":\\d+}";

    @Test
    void streamsQueuedPositionAndStartedEventsAsNdjson() throws Exception {
        try (AdmissionQueue queue = AdmissionQueue.builder(1).maxQueued(2)
                .notificationPeriod(Duration.ofMillis(10)).build()) {
            ChatStreamExample server = new ChatStreamExample(queue);
            Lines alice = new Lines();
            Lines bob = new Lines();
            Lines carol = new Lines();
            Lines dave = new Lines();
            CountDownLatch aliceMayFinish = new CountDownLatch(1);
            CountDownLatch bobMayFinish = new CountDownLatch(1);
            List<Thread> sessions = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();

            sessions.add(session(failure, () -> server.chat("alice", alice, awaiting(aliceMayFinish))));
            assertThat(alice.next()).isEqualTo("{\"event\":\"started\",\"waitedSeconds\":0}");
            sessions.add(session(failure, () -> server.chat("bob", bob, awaiting(bobMayFinish))));
            assertThat(bob.next()).isEqualTo("{\"event\":\"queued\",\"position\":1}"); // no run finished: no estimate
            sessions.add(session(failure, () -> server.chat("carol", carol, () -> { })));
            assertThat(carol.next()).isEqualTo("{\"event\":\"queued\",\"position\":2}");
            sessions.add(session(failure, () -> server.chat("dave", dave, () -> { })));
            assertThat(dave.next()).isEqualTo("{\"event\":\"busy\",\"retryAfterSeconds\":30}");

            aliceMayFinish.countDown();
            assertThat(alice.next()).isEqualTo("{\"event\":\"done\"}");
            assertThat(bob.next()).matches(STARTED);
            assertThat(carol.next()).matches("\\{\"event\":\"position\",\"position\":1,\"etaSeconds\":\\d+}");
            bobMayFinish.countDown();
            assertThat(bob.next()).isEqualTo("{\"event\":\"done\"}");
            assertThat(carol.next()).matches(STARTED);
            assertThat(carol.next()).isEqualTo("{\"event\":\"done\"}");
            for (Thread t : sessions) {
                t.join();
            }
            assertThat(failure.get()).isNull();
            assertThat(queue.stats().admitted()).isEqualTo(3);
            assertThat(queue.stats().rejected()).isEqualTo(1);
        }
    }

    interface Session {
        void run() throws Exception;
    }

    private static Thread session(AtomicReference<Throwable> failure, Session body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        });
        t.start();
        return t;
    }

    private static Runnable awaiting(CountDownLatch latch) {
        return () -> {
            try {
                latch.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    /** A writer that hands each complete line to the test. */
    private static final class Lines extends Writer {
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final StringBuilder current = new StringBuilder();

        String next() throws InterruptedException {
            String line = lines.poll(1, TimeUnit.MINUTES);
            assertThat(line).as("a line within a minute").isNotNull();
            return line;
        }

        @Override
        public synchronized void write(char[] buf, int off, int len) {
            for (int i = off; i < off + len; i++) {
                if (buf[i] == '\n') {
                    lines.add(current.toString());
                    current.setLength(0);
                } else {
                    current.append(buf[i]);
                }
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }
}
