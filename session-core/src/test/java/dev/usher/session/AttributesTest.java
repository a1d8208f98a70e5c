package dev.usher.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The compact attribute maps of {@link Session}, against a {@code LinkedHashMap} as the reference. */
class AttributesTest {

    @Test
    void randomEditsAgreeWithALinkedHashMapInContentAndOrder() {
        Random random = new Random(3);
        for (int round = 0; round < 200; round++) {
            Map<String, String> reference = new LinkedHashMap<>();
            Map<String, String> compact = Map.of();
            for (int step = 0; step < 30; step++) {
                String name = "n" + random.nextInt(6);
                if (random.nextInt(3) == 0) {
                    reference.remove(name);
                    compact = Attributes.without(compact, name);
                } else {
                    String value = "v" + random.nextInt(100);
                    reference.put(name, value);
                    compact = Attributes.with(compact, name, value);
                }
                assertThat(compact).isEqualTo(reference).hasSameHashCodeAs(reference);
                assertThat(List.copyOf(compact.keySet())).containsExactlyElementsOf(reference.keySet());
                assertThat(List.copyOf(compact.values())).containsExactlyElementsOf(reference.values());
                for (int i = 0; i < 6; i++) {
                    assertThat(compact.get("n" + i)).isEqualTo(reference.get("n" + i));
                    assertThat(compact.containsKey("n" + i)).isEqualTo(reference.containsKey("n" + i));
                }
                assertThat(Attributes.copyOf(compact)).isSameAs(compact);
            }
        }
    }

    @Test
    void mapsAreImmutableAndCopiesKeepTheCallersOrder() {
        Map<String, String> given = new LinkedHashMap<>();
        given.put("z", "1");
        given.put("a", "2");
        given.put("m", "3");
        Map<String, String> copy = Attributes.copyOf(given);
        given.put("later", "4");
        assertThat(List.copyOf(copy.keySet())).containsExactly("z", "a", "m");
        assertThatThrownBy(() -> copy.put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> copy.remove("z")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> copy.entrySet().iterator().next().setValue("x"))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(copy::clear).isInstanceOf(UnsupportedOperationException.class);
        assertThat(copy).containsEntry("m", "3").doesNotContainKey("later");
    }

    @Test
    void aCallersImmutableMapIsKeptAndAMutableOneCopied() {
        Map<String, String> one = Map.of("plan", "pro");
        Map<String, String> mutable = new HashMap<>(one);
        Instant now = Instant.now();
        Session kept = new Session("id", null, now, now, Duration.ofMinutes(1), now.plusSeconds(60), 1, one);
        Session copied = new Session("id", null, now, now, Duration.ofMinutes(1), now.plusSeconds(60), 1, mutable);
        assertThat(kept.attributes()).isSameAs(one);
        assertThat(copied.attributes()).isNotSameAs(mutable).isEqualTo(one);
        mutable.put("plan", "free");
        assertThat(copied.attribute("plan")).contains("pro");
        assertThat(kept.withAttribute("plan", "team").withoutAttribute("absent").attributes())
                .isEqualTo(Map.of("plan", "team"));
    }

    @Test
    void nullNamesAndValuesAreRefused() {
        Map<String, String> nullValue = new HashMap<>();
        nullValue.put("k", null);
        Map<String, String> nullName = new HashMap<>();
        nullName.put(null, "v");
        nullName.put("k", "v");
        assertThatThrownBy(() -> Attributes.copyOf(nullValue)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("'k'");
        assertThatThrownBy(() -> Attributes.copyOf(nullName)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("attribute name");
        assertThatThrownBy(() -> Attributes.with(Map.of(), "k", null)).isInstanceOf(NullPointerException.class);
    }
}
