package dev.usher.session.memory;

import dev.usher.session.SessionStore;
import dev.usher.session.SessionStoreContract;

class InMemorySessionStoreContractTest extends SessionStoreContract {
    @Override
    protected SessionStore createStore() {
        return InMemorySessionStore.builder().maxSessions(1_000_000).build();
    }
}
