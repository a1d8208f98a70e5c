package dev.usher.spring.boot.autoconfigure;

import dev.usher.gate.cache.WorkflowLoader;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The application's workflow in these tests: a stand-in that echoes. */
final class TestWorkflow implements AutoCloseable {
    private final String sessionId;

    TestWorkflow(String sessionId) {
        this.sessionId = sessionId;
    }

    String answer(String prompt) {
        return "echo " + prompt;
    }

    String sessionId() {
        return sessionId;
    }

    @Override
    public void close() {
    }

    @Configuration(proxyBeanMethods = false)
    static class Loader {
        @Bean
        WorkflowLoader<String, TestWorkflow> testWorkflows() {
            return TestWorkflow::new;
        }
    }
}
