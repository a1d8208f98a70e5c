package dev.usher.examples.readme;

/** The README's stand-in for an application's workflow (an LLM agent, a build, a render). */
public class Agent implements AutoCloseable {
    public String answer(String prompt) {
        return "echo " + prompt;
    }

    @Override
    public void close() {
    }
}
