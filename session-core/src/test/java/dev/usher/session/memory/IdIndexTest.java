package dev.usher.session.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The ids the in-memory store chooses for owned sessions: well-formed, random apart from the owner's tag. */
class IdIndexTest {
    private static final String BASE64URL = "[A-Za-z0-9_-]{43}";

    @Test
    void anOwnersIdsShareOnlyTheTagAndStayRandom() {
        InMemorySessionStore store = new InMemorySessionStore();
        Set<String> ids = new HashSet<>();
        Set<String> tails = new HashSet<>();
        String tag = store.newSessionId("alice").substring(0, IdIndex.TAG_CHARS);
        for (int i = 0; i < 1000; i++) {
            String id = store.newSessionId("alice");
            assertThat(id).matches(BASE64URL).startsWith(tag);
            ids.add(id);
            tails.add(id.substring(IdIndex.TAG_CHARS, IdIndex.TAG_CHARS + 8));
        }
        assertThat(ids).hasSize(1000);
        assertThat(tails).as("the rest of the id is random").hasSize(1000);
        assertThat(store.newSessionId(null)).matches(BASE64URL);
    }

    @Test
    void tagsDependOnTheStoresSecretNotOnlyOnTheOwner() {
        Set<String> tags = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            tags.add(new InMemorySessionStore().newSessionId("alice").substring(0, IdIndex.TAG_CHARS));
        }
        assertThat(tags).as("an id does not tell whose it is to anyone without the store's secret").hasSizeGreaterThan(15);
        InMemorySessionStore store = new InMemorySessionStore();
        Set<String> owners = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            owners.add(store.newSessionId("user-" + i).substring(0, IdIndex.TAG_CHARS));
        }
        assertThat(owners).as("different owners get different tags").hasSizeGreaterThan(990);
    }
}
