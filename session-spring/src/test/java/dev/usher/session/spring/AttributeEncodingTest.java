package dev.usher.session.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.io.Serializable;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The attribute encoding: built-in scalars, refusal of other types, codecs, and the Java serialization opt-in. */
class AttributeEncodingTest {
    record Cart(List<String> items) implements Serializable {
    }

    private final SessionManager manager = SessionManager.builder(new InMemorySessionStore()).build();

    @AfterEach
    void close() {
        manager.close();
    }

    @Test
    void aTypeNoCodecTakesIsRefusedOnSetAttribute() {
        UsherSessionRepository repository = UsherSessionRepository.builder(manager).build();
        UsherSpringSession s = repository.createSession();
        assertThatThrownBy(() -> s.setAttribute("cart", new Cart(List.of("book"))))
                .isInstanceOf(AttributeEncodingException.class)
                .hasMessageStartingWith("attribute 'cart' holds a " + Cart.class.getName() + ", which no codec encodes")
                .hasMessageContaining("AttributeCodec.javaSerialization")
                .extracting(e -> ((AttributeEncodingException) e).attributeName()).isEqualTo("cart");
        assertThat(s.getAttributeNames()).isEmpty();
    }

    @Test
    void javaSerializationIsOptInAndReadsOnlyAllowListedClasses() {
        AttributeCodec java = AttributeCodec.javaSerialization(
                "dev.usher.session.spring.*;java.util.*;java.lang.*;!*");
        UsherSessionRepository writer = UsherSessionRepository.builder(manager).attributeCodec(java).build();
        UsherSpringSession s = writer.createSession();
        s.setAttribute("cart", new Cart(new ArrayList<>(List.of("book", "pen"))));
        s.setAttribute("link", URI.create("https://example.org/"));
        writer.save(s);

        UsherSpringSession found = writer.findById(s.getId());
        assertThat(found.<Cart>getAttribute("cart").items()).containsExactly("book", "pen");
        assertThat(manager.find(s.getId()).orElseThrow().attribute("cart").orElseThrow()).startsWith("~java:");
        // java.net.URI is serializable but not on the list: written fine, refused when read back.
        assertThatThrownBy(() -> found.getAttribute("link")).isInstanceOf(AttributeEncodingException.class)
                .hasMessageStartingWith("attribute 'link' could not be decoded by codec \"java\"")
                .hasMessageContaining("java.net.URI");

        // A repository without the opt-in cannot read what the other wrote, and says which codec is missing.
        UsherSessionRepository plain = UsherSessionRepository.builder(manager).build();
        assertThatThrownBy(() -> plain.findById(s.getId()).getAttribute("cart"))
                .isInstanceOf(AttributeEncodingException.class)
                .hasMessage("attribute 'cart' was written by codec \"java\", which this repository does not register");
    }

    @Test
    void theAllowListMustRejectEverythingElse() {
        assertThatThrownBy(() -> AttributeCodec.javaSerialization("java.util.*"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("javaSerialization allowList must end with \"!*\" (reject every class not listed) but was \"java.util.*\"");
        assertThatThrownBy(() -> AttributeCodec.javaSerialization("  "))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(AttributeCodec.javaSerialization("java.util.*;!*;")).isNotNull();
    }

    @Test
    void codecsNeedWellFormedUniqueTags() {
        assertThatThrownBy(() -> UsherSessionRepository.builder(manager).attributeCodec(codec("Bad Tag")).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("codec tag must be 1 to 32 characters of [a-z0-9-] but was \"Bad Tag\"");
        assertThatThrownBy(() -> UsherSessionRepository.builder(manager).attributeCodec(codec("int")).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("codec tag must be unique and not a built-in tag but \"int\" was already taken");
        assertThatThrownBy(() -> UsherSessionRepository.builder(manager).attributeCodec(codec("uri"))
                .attributeCodec(codec("uri")).build()).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aCustomCodecRoundTripsItsType() {
        UsherSessionRepository repository = UsherSessionRepository.builder(manager).attributeCodec(codec("uri")).build();
        UsherSpringSession s = repository.createSession();
        s.setAttribute("home", URI.create("https://example.org/a?b=c"));
        repository.save(s);
        assertThat(manager.find(s.getId()).orElseThrow().attribute("home")).contains("~uri:https://example.org/a?b=c");
        assertThat(repository.findById(s.getId()).<URI>getAttribute("home")).isEqualTo(URI.create("https://example.org/a?b=c"));
    }

    @Test
    void valuesWrittenOutsideTheBridgeThatLookTaggedFailClearly() {
        UsherSessionRepository repository = UsherSessionRepository.builder(manager).build();
        String id = manager.create(null, Map.of("plain", "hello", "odd", "~no tag", "badint", "~int:forty")).id();
        UsherSpringSession s = repository.findById(id);
        assertThat(s.<String>getAttribute("plain")).isEqualTo("hello");
        assertThatThrownBy(() -> s.getAttribute("odd")).isInstanceOf(AttributeEncodingException.class)
                .hasMessageStartingWith("attribute 'odd' starts with '~' but has no \"~tag:\" prefix");
        assertThatThrownBy(() -> s.getAttribute("badint")).isInstanceOf(AttributeEncodingException.class)
                .hasMessageStartingWith("attribute 'badint' could not be decoded by codec \"int\"");
    }

    @Test
    void aSessionOfAnotherRepositoryIsRefused() {
        UsherSessionRepository one = UsherSessionRepository.builder(manager).build();
        UsherSessionRepository other = UsherSessionRepository.builder(manager).build();
        UsherSpringSession s = one.createSession();
        s.setAttribute("a", "b");
        assertThatThrownBy(() -> other.save(s)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("session must come from this repository's createSession or findById");
    }

    private static AttributeCodec codec(String tag) {
        return new AttributeCodec() {
            @Override
            public String tag() {
                return tag;
            }

            @Override
            public boolean accepts(Object value) {
                return value instanceof URI;
            }

            @Override
            public String encode(Object value) {
                return value.toString();
            }

            @Override
            public Object decode(String encoded) {
                return URI.create(encoded);
            }
        };
    }
}
