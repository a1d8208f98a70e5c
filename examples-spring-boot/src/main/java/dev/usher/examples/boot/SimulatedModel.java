package dev.usher.examples.boot;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * A STAND-IN for the host's real workflow (an LLM agent, a build, a render): it "answers" by streaming
 * the words of a canned reply with a fixed delay per token, so the example runs with no model download.
 * One per session, closed by the workflow cache once the session ends and no run uses it.
 */
public final class SimulatedModel implements AutoCloseable {
    private final Duration tokenDelay;
    private volatile boolean closed;

    SimulatedModel(Duration tokenDelay) {
        this.tokenDelay = tokenDelay;
    }

    /** Streams the answer to {@code prompt} token by token; blocks for about tokens × delay. */
    void answer(String prompt, Consumer<String> tokens) throws InterruptedException {
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

    @Override
    public void close() {
        closed = true;
    }
}
