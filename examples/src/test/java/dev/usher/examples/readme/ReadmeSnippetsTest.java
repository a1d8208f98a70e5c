package dev.usher.examples.readme;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every Java snippet of the README is compiled: each {@code ```java} block must appear, line for line (only
 * indentation may differ), in one of the test sources of a module of this repository (this package holds the
 * examples module's; the servlet, Spring Boot and Spring Session modules keep theirs beside their own tests),
 * which the build compiles against the current API. A README edit that is not made here too, or an API change that breaks a snippet, fails the
 * build.
 */
class ReadmeSnippetsTest {
    static final Path SOURCES = Path.of("src/test/java/dev/usher/examples/readme");

    /** The README's Java blocks by the line they start on. */
    static Map<Integer, List<String>> javaBlocks(List<String> readme) {
        Map<Integer, List<String>> blocks = new TreeMap<>();
        List<String> current = null;
        int start = 0;
        for (int i = 0; i < readme.size(); i++) {
            String line = readme.get(i);
            if (current == null && line.strip().equals("```java")) {
                current = new ArrayList<>();
                start = i + 1;
            } else if (current != null && line.strip().equals("```")) {
                blocks.put(start, current);
                current = null;
            } else if (current != null) {
                current.add(line);
            }
        }
        assertThat(current).as("an unclosed ```java block at README line %d", start).isNull();
        return blocks;
    }

    static List<String> normalized(List<String> lines) {
        return lines.stream().map(String::strip).toList();
    }

    @Test
    void everyJavaSnippetOfTheReadmeIsInACompiledSource() throws IOException {
        Path readme = Path.of("").toAbsolutePath().getParent().resolve("README.md");
        assertThat(readme).exists();
        Map<Integer, List<String>> blocks = javaBlocks(Files.readAllLines(readme, StandardCharsets.UTF_8));
        assertThat(blocks).as("the README has Java snippets").hasSizeGreaterThanOrEqualTo(9);
        List<List<String>> sources = new ArrayList<>();
        try (Stream<Path> files = Files.walk(readme.getParent(), 12)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/test/java/")
                    && !p.toString().contains("/target/")).toList()) {
                sources.add(normalized(Files.readAllLines(f, StandardCharsets.UTF_8)));
            }
        }
        List<String> missing = new ArrayList<>();
        blocks.forEach((line, block) -> {
            List<String> wanted = normalized(block);
            boolean found = sources.stream().anyMatch(source -> Collections.indexOfSubList(source, wanted) >= 0);
            if (!found) {
                missing.add("README.md line " + line + " (" + block.get(0).strip() + ")");
            }
        });
        assertThat(missing)
                .as("README Java snippets not found verbatim in %s: copy each into a source there (or fix the"
                        + " README) so the build compiles it", SOURCES)
                .isEmpty();
    }

    @Test
    void theCheckFindsADriftedSnippet() {
        List<String> readme = List.of("text", "```java", "int a = 1;", "  int b = 2;", "```", "```xml", "<x/>", "```");
        Map<Integer, List<String>> blocks = javaBlocks(readme);
        assertThat(blocks).containsOnlyKeys(2);
        List<String> source = normalized(List.of("class X {", "    int a = 1;", "    int b = 2;", "}"));
        assertThat(Collections.indexOfSubList(source, normalized(blocks.get(2)))).isEqualTo(1);
        List<String> drifted = normalized(List.of("class X {", "    int a = 1;", "    int b = 3;", "}"));
        assertThat(Collections.indexOfSubList(drifted, normalized(blocks.get(2)))).isEqualTo(-1);
    }
}
