package dev.usher.examples.readme;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every README block marked {@code <!-- snippet: path -->} is the text of that source file (between its
 * README-BEGIN and README-END lines, when it has them), so the README shows only code the build compiles
 * and the tests run.
 */
class ReadmeSnippetsTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Pattern SNIPPET = Pattern.compile("<!-- snippet: (\\S+) -->\\n```[a-z]*\\n(.*?)```", Pattern.DOTALL);

    @Test
    void readmeBlocksAreTheCompiledSources() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        Matcher m = SNIPPET.matcher(readme);
        List<String> checked = new ArrayList<>();
        while (m.find()) {
            Path source = ROOT.resolve(m.group(1));
            assertThat(source).as("the README names a source that exists").exists();
            assertThat(m.group(2)).as("the README block of %s", m.group(1)).isEqualTo(region(Files.readString(source)));
            checked.add(m.group(1));
        }
        assertThat(checked).contains(
                "usher-servlet/src/test/java/dev/usher/servlet/readme/ChatSetup.java",
                "examples-spring-boot/src/test/java/dev/usher/examples/readme/AgentApplication.java",
                "examples-spring-boot/src/test/resources/readme/application.properties");
    }

    private static String region(String source) {
        int begin = source.indexOf("// README-BEGIN\n");
        int end = source.indexOf("// README-END");
        if (begin < 0 || end < 0) {
            return source;
        }
        return source.substring(begin + "// README-BEGIN\n".length(), end);
    }
}
