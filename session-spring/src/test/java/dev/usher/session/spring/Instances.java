package dev.usher.session.spring;

import dev.usher.session.SessionManager;
import dev.usher.session.TestClock;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.UnaryOperator;
import org.springframework.context.ApplicationEventPublisher;

/**
 * Host instances on one shared store, each a {@link SessionManager} over its own store instance with an
 * {@link UsherSessionRepository} that publishes into its own event list; all on one {@link TestClock}, with
 * no sweeper thread (tests sweep when they mean to).
 */
final class Instances implements AutoCloseable {
    static final Duration IDLE = Duration.ofMinutes(30);

    final TestClock clock = new TestClock();
    final SharedStore shared;
    private final List<Instance> started = new ArrayList<>();

    record Instance(SessionManager manager, UsherSessionRepository repository, Queue<Object> events) {
        <E> List<E> eventsOf(Class<E> type) {
            return events.stream().filter(type::isInstance).map(type::cast).toList();
        }
    }

    Instances(Backend backend, Path dir) {
        this.shared = backend.open(dir);
    }

    Instance start() {
        return start(b -> b, r -> r);
    }

    Instance start(UnaryOperator<SessionManager.Builder> manager, UnaryOperator<UsherSessionRepository.Builder> repository) {
        SessionManager m = manager.apply(SessionManager.builder(shared.newInstance()).clock(clock).idleTimeout(IDLE)
                .sweepInterval(Duration.ZERO)).build();
        Queue<Object> events = new ConcurrentLinkedQueue<>();
        ApplicationEventPublisher publisher = events::add;
        UsherSessionRepository r = repository.apply(UsherSessionRepository.builder(m).eventPublisher(publisher)
                .clock(clock)).build();
        Instance instance = new Instance(m, r, events);
        started.add(instance);
        return instance;
    }

    @Override
    public void close() {
        for (Instance i : started) {
            i.repository().close();
            i.manager().close();
        }
        shared.close();
    }
}
