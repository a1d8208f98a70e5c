package dev.usher.session.spring;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.Concurrently;
import dev.usher.session.spring.Instances.Instance;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.session.events.AbstractSessionEvent;
import org.springframework.session.events.SessionDeletedEvent;
import org.springframework.session.events.SessionExpiredEvent;

/**
 * Two host instances (each a manager over its own store instance, with its own repository and event
 * list) on one store, as two servers behind a load balancer: concurrent requests of one user lose no
 * change, and each end of a session is published by exactly one of them.
 */
@Tag("server")
class TwoInstancesTest {
    @TempDir
    Path dir;
    private Instances instances;

    @AfterEach
    void close() {
        if (instances != null) {
            instances.close();
        }
    }

    private List<Instance> two(Backend backend) {
        instances = new Instances(backend, dir);
        // More compare-and-set attempts than the default: eight writers hammer one session here.
        return List.of(instances.start(m -> m.maxUpdateAttempts(10_000), r -> r),
                instances.start(m -> m.maxUpdateAttempts(10_000), r -> r));
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void interleavedRequestsOnTwoInstancesKeepBothChanges(Backend backend) {
        List<Instance> two = two(backend);
        UsherSessionRepository a = two.get(0).repository();
        UsherSessionRepository b = two.get(1).repository();
        UsherSpringSession created = a.createSession();
        created.setAttribute("shared", "before");
        a.save(created);

        // Both requests read the same version; each changes a different attribute; both save.
        UsherSpringSession onA = a.findById(created.getId());
        UsherSpringSession onB = b.findById(created.getId());
        onA.setAttribute("fromA", 1);
        onB.setAttribute("fromB", 2);
        onB.removeAttribute("shared");
        a.save(onA);
        b.save(onB);

        UsherSpringSession merged = a.findById(created.getId());
        assertThat(merged.getAttributeNames()).containsExactlyInAnyOrder("fromA", "fromB");
        assertThat(merged.<Integer>getAttribute("fromA")).isEqualTo(1);
        assertThat(merged.<Integer>getAttribute("fromB")).isEqualTo(2);
        // The later save also brought the other instance's change into its own object.
        assertThat(onB.<Integer>getAttribute("fromA")).isEqualTo(1);
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void concurrentRequestsOnTwoInstancesLoseNoChange(Backend backend) throws Exception {
        List<Instance> two = two(backend);
        String id = two.get(0).repository().createSession().getId();
        int threadsPerInstance = 4;
        int requestsPerThread = backend == Backend.MEMORY ? 500 : 60;
        Concurrently.run(2 * threadsPerInstance, t -> {
            UsherSessionRepository mine = two.get(t % 2).repository();
            for (int i = 1; i <= requestsPerThread; i++) {
                // One request: load, change this thread's own attribute, save (as Spring Session's filter does).
                UsherSpringSession s = mine.findById(id);
                s.setAttribute("thread-" + t, i);
                mine.save(s);
            }
        });
        UsherSpringSession end = two.get(1).repository().findById(id);
        for (int t = 0; t < 2 * threadsPerInstance; t++) {
            assertThat(end.<Integer>getAttribute("thread-" + t)).as("thread %s's last write", t).isEqualTo(requestsPerThread);
        }
        assertThat(end.getAttributeNames()).hasSize(2 * threadsPerInstance);
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void eachExpiredSessionIsPublishedByExactlyOneInstance(Backend backend) throws Exception {
        List<Instance> two = two(backend);
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 40; i++) {
            ids.add(two.get(i % 2).repository().createSession().getId());
        }
        instances.clock.advance(Instances.IDLE);
        Concurrently.run(2, t -> two.get(t).manager().sweep());

        List<String> published = new ArrayList<>();
        two.forEach(i -> i.eventsOf(SessionExpiredEvent.class).forEach(e -> published.add(e.getSessionId())));
        assertThat(published).hasSize(ids.size()).containsExactlyInAnyOrderElementsOf(ids);
        two.forEach(i -> assertThat(i.eventsOf(SessionDeletedEvent.class)).isEmpty());
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void aSessionDeletedFromBothInstancesAtOnceIsPublishedOnce(Backend backend) throws Exception {
        List<Instance> two = two(backend);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            ids.add(two.get(0).repository().createSession().getId());
        }
        Concurrently.run(2, t -> ids.forEach(two.get(t).repository()::deleteById));

        List<String> published = new ArrayList<>();
        two.forEach(i -> i.eventsOf(SessionDeletedEvent.class).stream().map(AbstractSessionEvent::getSessionId)
                .forEach(published::add));
        assertThat(published).containsExactlyInAnyOrderElementsOf(ids);
    }
}
