package dev.usher.spring.boot.autoconfigure;

import dev.usher.servlet.UsherFilter;

/**
 * Adjusts the auto-configured {@link UsherFilter} before it is built: where the client address comes
 * from (behind a proxy), who is rate-limited, the suggested workspace name. Define one or more as beans;
 * they run in {@code @Order}.
 *
 * <pre>{@code
 * @Bean
 * UsherFilterCustomizer byApiKey() {
 *     return filter -> filter.rateKey(request -> request.getHeader("X-Api-Key"));
 * }
 * }</pre>
 */
@FunctionalInterface
public interface UsherFilterCustomizer {
    void customize(UsherFilter.Builder filter);
}
