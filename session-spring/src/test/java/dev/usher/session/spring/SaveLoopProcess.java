package dev.usher.session.spring;

import dev.usher.session.SessionManager;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Another host instance in its own JVM, for {@link ProcessesTest}: runs {@code requests} Spring Session
 * requests on one session (load, set its own attribute to the request number, save) and prints each number
 * once its save has returned.
 *
 * <p>Arguments: backend, namespace, directory, session id, attribute name, requests.
 */
final class SaveLoopProcess {
    private SaveLoopProcess() {
    }

    public static void main(String[] args) {
        Backend backend = Backend.valueOf(args[0]);
        String id = args[3];
        String attribute = args[4];
        int requests = Integer.parseInt(args[5]);
        try (SessionManager manager = SessionManager.builder(backend.store(args[1], Path.of(args[2])))
                .sweepInterval(Duration.ZERO).maxUpdateAttempts(10_000).build();
             UsherSessionRepository repository = UsherSessionRepository.builder(manager).build()) {
            System.out.println("ready");
            for (int i = 1; i <= requests; i++) {
                UsherSpringSession s = repository.findById(id);
                s.setAttribute(attribute, i);
                repository.save(s);
                System.out.println(i);
            }
        }
        System.out.println("done");
    }
}
