package dev.usher.examples.chat;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * A STAND-IN for the host's real workflow (an LLM agent, a build, a render): it "answers" by streaming
 * the words of a canned reply with a fixed delay per token, so the example runs with no model download.
 *
 * <p>One instance per session, created by the {@code WorkflowCache} and closed by it once the session
 * ends and the last run using it has finished. Not thread-safe; the admission queue's per-key limit
 * keeps one run per session.
 */
final class SimulatedModel implements AutoCloseable {
    private final Duration tokenDelay;
    private volatile boolean closed;

    SimulatedModel(Duration tokenDelay) {
        this.tokenDelay = tokenDelay;
    }

    /** How long an answer to a short prompt takes: about 30 tokens (27 plus the prompt's words). */
    static Duration typicalRun(Duration tokenDelay) {
        return tokenDelay.multipliedBy(30);
    }

    /** Streams the answer to {@code prompt} token by token; blocks for about tokens × delay. */
    void answer(String prompt, Consumer<String> tokens) throws InterruptedException {
        if (closed) {
            throw new IllegalStateException("model used after close");
        }
        String reply = "You asked: \"" + prompt + "\". This answer comes from a simulated model that streams "
                + "one token at a time, standing in for the real workflow a host would run here.";
        for (String word : reply.split(" ")) {
            if (closed) {
                throw new IllegalStateException("model closed while answering");
            }
            Thread.sleep(tokenDelay.toMillis()); // simulates model latency, not a test wait
            tokens.accept(word + " ");
        }
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        closed = true;
    }
}
