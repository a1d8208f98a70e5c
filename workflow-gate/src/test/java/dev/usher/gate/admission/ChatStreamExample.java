package dev.usher.gate.admission;

import java.io.IOException;
import java.io.Writer;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/** The README's chat-server example, word for word; {@link ChatStreamExampleTest} runs it. */
final class ChatStreamExample {
    private final AdmissionQueue queue;

    ChatStreamExample(AdmissionQueue queue) {
        this.queue = queue;
    }

    /** Streams the wait as NDJSON lines to {@code out}, then runs the workflow when admitted. */
    void chat(String sessionId, Writer out, Runnable workflow) throws IOException, InterruptedException {
        BlockingQueue<TicketUpdate> updates = new LinkedBlockingQueue<>();
        Ticket ticket;
        try {
            // The listener only hands the update over: it runs on the queue's own thread.
            ticket = queue.enter(sessionId, updates::add);
        } catch (QueueFullException full) {
            long retryAfter = full.retryAfter().map(Duration::toSeconds).orElse(30L);
            send(out, "{\"event\":\"busy\",\"retryAfterSeconds\":" + retryAfter + "}"); // or HTTP 503 + Retry-After
            return;
        }
        try {
            while (true) {
                TicketUpdate update = updates.take();
                switch (update.kind()) {
                    case QUEUED, POSITION_CHANGED -> send(out, "{\"event\":\""
                            + (update.kind() == TicketUpdate.Kind.QUEUED ? "queued" : "position")
                            + "\",\"position\":" + update.position()
                            + update.estimatedWait().map(d -> ",\"etaSeconds\":" + d.toSeconds()).orElse("") + "}");
                    case ADMITTED -> {
                        try (Permit permit = ticket.permit().join()) {
                            send(out, "{\"event\":\"started\",\"waitedSeconds\":" + permit.waited().toSeconds() + "}");
                            workflow.run();
                        }
                        send(out, "{\"event\":\"done\"}");
                        return;
                    }
                    case CANCELLED, TIMED_OUT -> {
                        send(out, "{\"event\":\"" + (update.kind() == TicketUpdate.Kind.CANCELLED ? "cancelled" : "timeout")
                                + "\"}");
                        return;
                    }
                }
            }
        } catch (IOException | InterruptedException clientGone) {
            // The client left. Free its place; if admission won that race, hand the permit back (close is idempotent).
            if (!ticket.cancel() && ticket.state() == Ticket.State.ADMITTED) {
                ticket.permit().join().close();
            }
            throw clientGone;
        }
    }

    private static void send(Writer out, String line) throws IOException {
        out.write(line);
        out.write('\n');
        out.flush();
    }
}
