package dev.usher.session.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonAttributesTest {

    @Test
    void writesReadableJsonAndEscapesOnlyWhatItMust() {
        Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put("cart", "사과 🍎");
        attributes.put("q\"b\\", "line\nnul\u0000bell\u0007");
        attributes.put("half", "\uD800");
        assertThat(JsonAttributes.encode(attributes)).isEqualTo(
                "{\"cart\":\"사과 🍎\",\"q\\\"b\\\\\":\"line\\nnul\\u0000bell\\u0007\",\"half\":\"\\ud800\"}");
        assertThat(JsonAttributes.encode(Map.of())).isEqualTo("{}");
    }

    @Test
    void everyCharacterRoundTrips() {
        StringBuilder all = new StringBuilder();
        for (char c = 0; c < Character.MAX_VALUE; c++) {
            all.append(c);
        }
        Map<String, String> attributes = Map.of("all", all.toString(), all.substring(0, 300), "name with every control");
        assertThat(JsonAttributes.decode(JsonAttributes.encode(attributes))).isEqualTo(attributes);
    }

    @Test
    void randomStringsRoundTripInOrder() {
        Random random = new Random(42);
        for (int round = 0; round < 500; round++) {
            Map<String, String> attributes = new LinkedHashMap<>();
            for (int i = random.nextInt(6); i > 0; i--) {
                attributes.put(randomString(random), randomString(random));
            }
            Map<String, String> decoded = JsonAttributes.decode(JsonAttributes.encode(attributes));
            assertThat(decoded).containsExactlyEntriesOf(attributes);
        }
    }

    private static String randomString(Random random) {
        char[] chars = new char[random.nextInt(20)];
        for (int i = 0; i < chars.length; i++) {
            // Mostly the interesting corners: controls, quotes, backslashes, surrogates, Hangul.
            chars[i] = switch (random.nextInt(6)) {
                case 0 -> (char) random.nextInt(0x20);
                case 1 -> "\"\\/'`".charAt(random.nextInt(5));
                case 2 -> (char) (0xD800 + random.nextInt(0x800));
                case 3 -> (char) (0xAC00 + random.nextInt(100));
                default -> (char) random.nextInt(0x10000);
            };
        }
        return new String(chars);
    }

    @Test
    void readsWhitespaceAndEveryJsonEscape() {
        assertThat(JsonAttributes.decode(" { \"a\" : \"\\/\\b\\f\\n\\r\\t\\\"\\\\\\u00E9\\uD83D\\uDE00\" ,\n\"b\":\"\" } "))
                .containsExactly(Map.entry("a", "/\b\f\n\r\t\"\\é😀"), Map.entry("b", ""));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "[]", "{", "{\"a\"}", "{\"a\":1}", "{\"a\":\"b\",}", "{\"a\":\"b\"} x",
            "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u12zz\"}", "{\"a\":\"raw\ncontrol\"}", "{\"a\":\"open}"})
    void rejectsAnythingButAnObjectOfStrings(String json) {
        assertThatThrownBy(() -> JsonAttributes.decode(json))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a JSON object of strings").hasMessageContaining("offset");
    }
}
